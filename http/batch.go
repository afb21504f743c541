package http

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"

	"github.com/runbooker/runbooker"
	"github.com/runbooker/runbooker/engine"
)

// maxBatchBody bounds POST /api/v1/jobs/batch: a full batch of jobs with
// modest parameters fits many times over; a batch of huge parameter sets
// belongs in several requests.
const maxBatchBody = 16 << 20

// BatchJob is one entry of a bulk start: what the external API's start
// takes in its path, query and body, in one object.
type BatchJob struct {
	Runbook    string         `json:"runbook"`
	Parameters map[string]any `json:"parameters,omitempty"`
	RunOn      string         `json:"runOn,omitempty"` // empty: the runbook's default group, else cloud
}

// BatchRequest is the body of POST /api/v1/jobs/batch.
type BatchRequest struct {
	Jobs []BatchJob `json:"jobs"`
}

// BatchResponse answers POST /api/v1/jobs/batch with the queued jobs in
// the order they were asked for, each as GET /api/v1/jobs/{id} renders it.
type BatchResponse struct {
	Jobs []*runbooker.Job `json:"jobs"`
}

// handleStartBatch queues many jobs in one write: all of them or, when any
// entry is refused, none (the error names the entry by its index).
func (s *Server) handleStartBatch(w http.ResponseWriter, r *http.Request) {
	jobs, err := readBatch(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	c := principal(r.Context())
	ps := make([]engine.CreateJobParams, len(jobs))
	for i, j := range jobs {
		ps[i] = engine.CreateJobParams{TenantID: c.TenantID, RunbookName: j.Runbook, Params: j.Parameters, RunOn: j.RunOn,
			Caller: c.Name, Authorize: s.authorizeJob(c)}
	}
	js, err := s.Engine.CreateJobs(r.Context(), ps)
	if err != nil {
		if runbooker.ErrorCode(err) == runbooker.EFORBIDDEN {
			s.record(r.Context(), r, actorOf(c), "job.start.denied", "", map[string]any{"reason": runbooker.ErrorMessage(err)})
		}
		s.writeError(w, r, err)
		return
	}
	for _, j := range js {
		s.recordJobStart(r.Context(), r, c, j)
	}
	writeJSON(w, http.StatusCreated, BatchResponse{Jobs: js})
}

// readBatch decodes a bulk start request. Each entry is decoded on its own
// so that a malformed one is named by its index, in the engine's words.
func readBatch(w http.ResponseWriter, r *http.Request) ([]BatchJob, error) {
	body, err := readBody(w, r, maxBatchBody)
	if err != nil {
		return nil, err
	}
	var req struct {
		Jobs []json.RawMessage `json:"jobs"`
	}
	if err := decodeStrict(body, &req); err != nil {
		return nil, runbooker.Errorf(runbooker.EINVALID, `request body must be {"jobs": [{"runbook": NAME, "parameters": {...}, "runOn": GROUP}, ...]}: %s`, jsonProblem(err))
	}
	switch {
	case len(req.Jobs) == 0:
		return nil, runbooker.Errorf(runbooker.EINVALID, "jobs: the batch is empty")
	case len(req.Jobs) > engine.MaxBatch:
		// Refused before any entry is decoded; the engine would refuse it too.
		return nil, runbooker.Errorf(runbooker.EINVALID, "a batch holds at most %d jobs, not %d", engine.MaxBatch, len(req.Jobs))
	}
	jobs := make([]BatchJob, len(req.Jobs))
	for i, raw := range req.Jobs {
		if jobs[i], err = ParseBatchJob(raw); err != nil {
			return nil, runbooker.Errorf(runbooker.EINVALID, "job %d of the batch: %s", i, runbooker.ErrorMessage(err))
		}
	}
	return jobs, nil
}

// ParseBatchJob decodes one entry of a bulk start as the server does, so
// the CLI can check a file line by line before sending anything. Fields a
// BatchJob does not have are refused: a misspelt "parameter" must not
// start a job without its parameters.
func ParseBatchJob(data []byte) (BatchJob, error) {
	var j BatchJob
	if err := decodeStrict(data, &j); err != nil {
		return BatchJob{}, runbooker.Errorf(runbooker.EINVALID, `want {"runbook": NAME, "parameters": {...}, "runOn": GROUP}: %s`, jsonProblem(err))
	}
	if j.Runbook == "" {
		return BatchJob{}, runbooker.Errorf(runbooker.EINVALID, "runbook: a runbook name is required")
	}
	if j.Parameters == nil {
		j.Parameters = map[string]any{}
	}
	return j, nil
}

// errTrailing reports data after the one JSON value of a document.
var errTrailing = errors.New("more than one JSON value")

// decodeStrict decodes exactly one JSON value into v and refuses object
// fields v does not have.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if err := dec.Decode(&json.RawMessage{}); !errors.Is(err, io.EOF) {
		return errTrailing
	}
	return nil
}

// jsonProblem says what was wrong with a JSON document in the caller's
// terms, without the Go type names encoding/json puts in its errors.
func jsonProblem(err error) string {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.Is(err, io.EOF):
		return "no JSON value"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the JSON ends early"
	case errors.As(err, &syntaxErr):
		return fmt.Sprintf("invalid JSON at byte %d: %s", syntaxErr.Offset, strings.TrimPrefix(syntaxErr.Error(), "json: "))
	case errors.As(err, &typeErr):
		want := map[reflect.Kind]string{
			reflect.Struct: "an object", reflect.Map: "an object", reflect.Slice: "a list",
			reflect.String: "a string", reflect.Float64: "a number", reflect.Bool: "true or false",
		}[typeErr.Type.Kind()]
		if want == "" {
			want = "another type"
		}
		got := typeErr.Value
		if typeErr.Type.Kind() == reflect.Float64 && strings.HasPrefix(got, "number ") {
			return fmt.Sprintf("%s: %s is out of range", fieldName(typeErr.Field), strings.TrimPrefix(got, "number "))
		}
		return fmt.Sprintf("%s: expected %s, got %s", fieldName(typeErr.Field), want, got)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

func fieldName(f string) string {
	if f == "" {
		return "the document"
	}
	return f
}
