package main

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/instars/instars/billing"
)

func TestStatusForServiceErrors(t *testing.T) {
	tests := []struct {
		err        error
		wantStatus int
		wantCode   string
	}{
		{fmt.Errorf("order ord_1 from ABC: %w", billing.ErrNonceReused),
			http.StatusConflict, "conflict"},
		{fmt.Errorf("lease x: %w", billing.ErrNotFound), http.StatusNotFound, "not_found"},
		{fmt.Errorf("%w: unknown plan", billing.ErrInvalidOrder),
			http.StatusBadRequest, "invalid_request"},
		{errors.New("database is locked"), http.StatusInternalServerError, "internal"},
	}
	for _, tt := range tests {
		status, code := statusFor(tt.err)
		if status != tt.wantStatus || code != tt.wantCode {
			t.Errorf("statusFor(%q) = %d %s, want %d %s",
				tt.err, status, code, tt.wantStatus, tt.wantCode)
		}
	}
}

func TestFormIntRejectsOutOfRange(t *testing.T) {
	for _, value := range []string{"0", "101", "abc"} {
		r := httptest.NewRequest("POST", "/api/v1/dev/mine?blocks="+value, nil)
		_, err := formInt(r, "blocks", 1, 100)
		if !errors.Is(err, errBadRequest) {
			t.Fatalf("formInt(blocks=%s) = %v, want a bad request", value, err)
		}
		want := `invalid request: invalid blocks "` + value + `": expected 1 to 100`
		if err.Error() != want {
			t.Errorf("formInt(blocks=%s) error = %q, want %q", value, err, want)
		}
	}
}
