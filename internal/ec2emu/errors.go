package ec2emu

import (
	"encoding/xml"
	"fmt"
	"net/http"
)

// apiError is an error returned to the client as an EC2 error response.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func newAPIError(status int, code, format string, args ...any) *apiError {
	return &apiError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// badRequest returns a client error (HTTP 400) with the given code.
func badRequest(code, format string, args ...any) *apiError {
	return newAPIError(http.StatusBadRequest, code, format, args...)
}

func invalidParameter(format string, args ...any) *apiError {
	return badRequest("InvalidParameterValue", format, args...)
}

func missingParameter(name string) *apiError {
	return badRequest("MissingParameter",
		"The request must contain the parameter %s", name)
}

func authFailure(format string, args ...any) *apiError {
	return newAPIError(http.StatusUnauthorized, "AuthFailure", format, args...)
}

func instanceNotFound(id string) *apiError {
	return badRequest("InvalidInstanceID.NotFound",
		"The instance ID '%s' does not exist", id)
}

func internalError() *apiError {
	return newAPIError(http.StatusInternalServerError, "InternalError",
		"An internal error has occurred")
}

type errorResponse struct {
	XMLName   xml.Name     `xml:"Response"`
	Errors    []errorEntry `xml:"Errors>Error"`
	RequestID string       `xml:"RequestID"`
}

type errorEntry struct {
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

// writeError writes err in the EC2 error format: a Response element without a namespace, with
// the request id in RequestID (upper case D, unlike successful responses).
func writeError(w http.ResponseWriter, requestID string, err *apiError) {
	body, _ := xml.Marshal(errorResponse{
		Errors:    []errorEntry{{Code: err.Code, Message: err.Message}},
		RequestID: requestID,
	})
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.Header().Set("X-Amzn-Requestid", requestID)
	w.WriteHeader(err.Status)
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(body)
}

// writeResponse writes a successful response. body must be a struct whose XMLName names the
// response element; the namespace and request id are added here.
func writeResponse(w http.ResponseWriter, requestID string, body []byte) {
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.Header().Set("X-Amzn-Requestid", requestID)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(body)
}
