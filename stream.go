package runbooker

import (
	"encoding/json"
	"strings"
	"time"
)

// StreamType is the stream a record was written to, as Azure Automation names them.
type StreamType string

// Stream types.
const (
	StreamOutput      StreamType = "Output"
	StreamError       StreamType = "Error"
	StreamWarning     StreamType = "Warning"
	StreamVerbose     StreamType = "Verbose"
	StreamDebug       StreamType = "Debug"
	StreamProgress    StreamType = "Progress"
	StreamInformation StreamType = "Information"
)

// AllStreamTypes lists every stream type.
var AllStreamTypes = []StreamType{StreamOutput, StreamError, StreamWarning, StreamVerbose,
	StreamDebug, StreamProgress, StreamInformation}

// ParseStreamType maps a name, in any letter case, to its stream type.
func ParseStreamType(s string) (StreamType, bool) {
	for _, t := range AllStreamTypes {
		if strings.EqualFold(s, string(t)) {
			return t, true
		}
	}
	return "", false
}

// StreamRecord is one record a job wrote. Seq is assigned at the source and
// is unique and increasing within a job across all its attempts; records are
// always returned in Seq order, which is emission order.
type StreamRecord struct {
	Seq   int64           `json:"seq"`
	Time  time.Time       `json:"time"`
	Type  StreamType      `json:"streamType"`
	Text  string          `json:"streamText"`
	Value json.RawMessage `json:"value,omitempty"` // structured output (JSON) when the runbook wrote an object
}

// StreamFilter selects a job's records.
type StreamFilter struct {
	After int64        // only records with Seq > After
	Types []StreamType // empty: all
	Limit int          // 0: no limit
}

// ClampRecordTimes keeps the times of records a worker reports inside the
// window the server knows the attempt ran in, from lo (the job's creation)
// to hi (now): a time outside it, or none at all, is set to the nearest end
// (none: hi). Stores keep nanoseconds since 1970 in 64 bits, which a time
// such as 2999-01-01 or the zero time would overflow into another century.
// It returns how many records it changed.
func ClampRecordTimes(recs []StreamRecord, lo, hi time.Time) int {
	n := 0
	for i := range recs {
		t := recs[i].Time
		switch {
		case t.IsZero() || t.After(hi):
			recs[i].Time = hi
		case t.Before(lo):
			recs[i].Time = lo
		default:
			continue
		}
		n++
	}
	return n
}
