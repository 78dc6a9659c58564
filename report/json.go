package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/ramp-deploy/ramp/engine"
)

// JSON writes one JSON object per event, one per line (JSON Lines), for CI
// systems and scripts:
//
//	{"type":"shifted","time":"2026-01-01T12:00:05Z","from":0,"weight":10}
//
// Each object holds "type" (the event's Type), "time" (RFC 3339 with
// nanoseconds) and the event's fields. The "finished" event carries the
// run's result under "result", with "error" set when the run ended on an
// error, and the judge's "verdict" and final "evidence". Each "judged" event
// holds a poll's window, both versions' counts and the judge's evidence
// after it; evidence beyond 1e300 (infinite) is written as 1e300.
// Durations are integer nanoseconds. Its zero value writes nothing;
// set W. It is safe for concurrent use and ignores write errors.
type JSON struct {
	// W receives the lines.
	W io.Writer

	mu sync.Mutex
}

// Event writes the line for ev; it is an engine.Sink.
func (j *JSON) Event(ev engine.Event) {
	line := Line(ev)
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.W != nil {
		_, _ = j.W.Write(line)
	}
}

// Line renders ev as one JSON object followed by a newline. An event that
// cannot be encoded (a NaN measurement) becomes an object with its type,
// time and "encode_error".
func Line(ev engine.Event) []byte {
	var v any = ev
	if f, ok := ev.(*engine.Finished); ok {
		fj := finishedJSON{Finished: f, Result: resultJSON{Result: f.Result}}
		if f.Result.Err != nil {
			fj.Result.Error = f.Result.Err.Error()
		}
		v = fj
	}
	body, err := encode(v)
	if err == nil && !bytes.HasPrefix(body, []byte("{")) {
		err = fmt.Errorf("encoded as %.20q, not an object", body)
	}
	if err != nil {
		body, _ = encode(struct {
			Time  string `json:"time"`
			Error string `json:"encode_error"`
		}{ev.Time().Format(time.RFC3339Nano), fmt.Sprintf("encode %s event: %v", ev.Type(), err)})
	}
	typ, _ := encode(ev.Type())
	var b bytes.Buffer
	b.Grow(len(body) + len(typ) + 10)
	b.WriteString(`{"type":`)
	b.Write(typ)
	if len(body) > 2 {
		b.WriteByte(',')
	}
	b.Write(body[1:])
	b.WriteByte('\n')
	return b.Bytes()
}

// encode marshals v without escaping HTML and without a trailing newline.
func encode(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// finishedJSON is a Finished event whose result carries its error as text.
type finishedJSON struct {
	*engine.Finished
	Result resultJSON `json:"result"`
}

type resultJSON struct {
	engine.Result
	Error string `json:"error,omitempty"`
}
