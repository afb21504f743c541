package http

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/runbooker/runbooker"
)

// ExternalRecord is a stream record in the shape of RealmJoin's documented
// examples: summary carries the text, streamText is always null, and time
// is written with a "+00:00" offset and 7 fractional digits.
type ExternalRecord struct {
	Seq        int64        `json:"seq"`
	Time       ExternalTime `json:"time"`
	Summary    string       `json:"summary"`
	StreamType string       `json:"streamType"`
	// StreamText is null, as RealmJoin sends it; the text is in Summary.
	// (Repeating it doubled every answer.)
	StreamText *string         `json:"streamText"`
	Value      json.RawMessage `json:"value"`
}

// ExternalTime is a record time as RealmJoin writes it:
// 2021-12-15T14:47:27.7756185+00:00.
type ExternalTime struct{ time.Time }

// externalTimeLayout has .NET's 7 fractional digits (100 ns ticks).
const externalTimeLayout = "2006-01-02T15:04:05.0000000+00:00"

// MarshalJSON writes the time in UTC in externalTimeLayout.
func (t ExternalTime) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, len(externalTimeLayout)+2)
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, externalTimeLayout)
	return append(b, '"'), nil
}

// UnmarshalJSON reads any RFC 3339 time.
func (t *ExternalTime) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	t.Time = v
	return err
}

func externalRecord(r runbooker.StreamRecord) ExternalRecord {
	v := r.Value
	if len(v) == 0 {
		v = json.RawMessage("null")
	}
	return ExternalRecord{Seq: r.Seq, Time: ExternalTime{r.Time}, Summary: r.Text, StreamType: string(r.Type), Value: v}
}

func externalRecords(recs []runbooker.StreamRecord) []ExternalRecord {
	out := make([]ExternalRecord, len(recs))
	for i, r := range recs {
		out[i] = externalRecord(r)
	}
	return out
}

// runAnswerPage is how many records a synchronous run's answer reads from
// the store at a time: the answer is written as it is read, so a server
// holds one page per waiting caller, never a job's whole output.
const runAnswerPage = 256

// writeRunAnswer writes a finished synchronous run's RunResponse, streaming
// the records: those the finisher handed over (recs, when complete), else
// the store's, page by page. A failure after the first byte can only cut
// the answer short, which the client sees as broken JSON.
func (s *Server) writeRunAnswer(ctx context.Context, w http.ResponseWriter, j *runbooker.Job, recs []runbooker.StreamRecord, complete bool) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 64<<10)
	defer bw.Flush()
	head, _ := json.Marshal(RunResponse{JobID: j.ID, Status: string(j.Status)})
	bw.Write(head[:len(head)-1]) // without the closing brace
	bw.WriteString(`,"streams":[`)
	n := 0
	write := func(page []runbooker.StreamRecord) bool {
		for _, r := range page {
			b, err := json.Marshal(externalRecord(r))
			if err != nil {
				return false
			}
			if n > 0 {
				bw.WriteByte(',')
			}
			n++
			if _, err := bw.Write(b); err != nil {
				return false
			}
		}
		return true
	}
	if complete {
		write(recs)
	} else {
		var after int64
		for {
			page, err := s.Store.Streams(ctx, j.TenantID, j.ID, runbooker.StreamFilter{After: after, Limit: runAnswerPage})
			if err != nil {
				s.Log.Warn("synchronous run: reading records failed", "job", j.ID, "err", err)
				return // the answer stays unterminated: the client sees it broken
			}
			if len(page) == 0 || !write(page) {
				break
			}
			after = page[len(page)-1].Seq
			if len(page) < runAnswerPage {
				break
			}
		}
	}
	bw.WriteString("]}\n")
}
