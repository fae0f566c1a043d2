package ec2emu

import (
	"encoding/json"
	"net/http"
	"time"
)

// serveAdmin serves the control endpoints listed in the package documentation. They need no
// signature, so serve the emulator on the loopback interface only.
func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request) {
	endpoint := r.URL.Path[len(adminPrefix):]
	switch {
	case endpoint == "instances" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, s.Instances())
	case endpoint == "calls" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, s.CallCounts())
	case endpoint == "calls" && r.Method == http.MethodDelete:
		s.ResetCalls()
		w.WriteHeader(http.StatusNoContent)
	case endpoint == "faults" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, s.PendingFaults())
	case endpoint == "faults" && r.Method == http.MethodPost:
		var f Fault
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&f); err != nil {
			http.Error(w, "fault body is not a JSON fault: "+err.Error(), http.StatusBadRequest)
			return
		}
		if err := s.InjectFault(f); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case endpoint == "faults" && r.Method == http.MethodDelete:
		s.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	case endpoint == "advance" && r.Method == http.MethodPost:
		d, err := time.ParseDuration(r.URL.Query().Get("by"))
		if err != nil || d < 0 {
			http.Error(w, "query parameter by must be a non-negative duration such as 90s",
				http.StatusBadRequest)
			return
		}
		s.Advance(d)
		writeJSON(w, http.StatusOK, map[string]time.Time{"now": s.Now()})
	default:
		http.Error(w, "unknown control endpoint or method: "+r.Method+" "+r.URL.Path,
			http.StatusNotFound)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
