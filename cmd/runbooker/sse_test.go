package main

import (
	"bufio"
	"encoding/json"
	"io"
	"strings"
	"time"
)

// sseEvent is one server-sent event: its id, its kind (the event: line),
// its data as sent and, when that is a JSON object, decoded.
type sseEvent struct {
	ID, Kind, Raw string
	Data          map[string]any
	At            time.Time // when the test read it
}

// scanSSE reads a text/event-stream until it ends, handing each event
// that names its kind to each.
func scanSSE(r io.Reader, each func(sseEvent)) error {
	sc := bufio.NewScanner(r)
	var ev sseEvent
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if ev.Kind != "" {
				ev.At = time.Now()
				_ = json.Unmarshal([]byte(ev.Raw), &ev.Data)
				each(ev)
			}
			ev = sseEvent{}
		case strings.HasPrefix(line, "id: "):
			ev.ID = line[4:]
		case strings.HasPrefix(line, "event: "):
			ev.Kind = line[7:]
		case strings.HasPrefix(line, "data: "):
			ev.Raw = line[6:]
		}
	}
	return sc.Err()
}
