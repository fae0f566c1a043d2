package ec2emu

import (
	"encoding/json"
	"net/http"
	"time"
)

// serveAdmin serves the emulator's control endpoints, which need no signature:
//
//	GET    /_emu/instances        the instances, as JSON
//	GET    /_emu/calls            the call counters per action, as JSON
//	DELETE /_emu/calls            reset the call counters
//	GET    /_emu/faults           the faults not yet spent, as JSON
//	POST   /_emu/faults           add a fault: a JSON Fault, latency in nanoseconds
//	DELETE /_emu/faults           remove every fault
//	POST   /_emu/advance?by=90s   move the emulator's time forward
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
