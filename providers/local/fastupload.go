package local

import (
	"context"
	"net/http"
	"time"

	"github.com/valyala/fasthttp"
)

// serveUpload forwards a request fasthttp read whose body is too long to
// be read whole (bufferBody) through net/http's transport, which reads
// the version's answer while the body goes out: a version that answers
// before reading it all (a 413, a 401) and closes is heard, where fasthttp,
// writing the whole request before it reads, met a closed connection. It
// also dials a connection when the pooled ones were closed meanwhile.
func (b *backend) serveUpload(ctx *fasthttp.RequestCtx, body *clientBody, start time.Time, closeClient bool, cookie []string) {
	req := &ctx.Request
	out, err := http.NewRequestWithContext(context.Background(), string(req.Header.Method()), "http://"+b.host+string(req.RequestURI()), body)
	if err != nil {
		b.unanswered(ctx, start, nil, err)
		return
	}
	out.ContentLength = int64(req.Header.ContentLength()) // -1: chunked
	out.Host = string(req.Host())
	for k, v := range req.Header.All() {
		switch string(k) {
		case "Host", "Content-Length", "Transfer-Encoding", "Connection":
		default:
			out.Header.Add(string(k), string(v))
		}
	}
	up, err := b.transport.RoundTrip(out)
	<-body.done // the transport may still be sending the body: wait until it let go of it
	if err != nil {
		b.unanswered(ctx, start, body.err, err)
		return
	}
	resp := &ctx.Response
	resp.SetStatusCode(up.StatusCode)
	resp.Header.SetNoDefaultContentType(true)
	for k, vs := range up.Header {
		for _, v := range vs {
			resp.Header.Add(k, v)
		}
	}
	var conn [][]byte
	for _, v := range up.Header.Values("Connection") {
		conn = append(conn, []byte(v))
	}
	dropConnectionTokens(conn, resp.Header.Del)
	for _, k := range append(hopHeaders, "Connection") {
		resp.Header.Del(k)
	}
	if closeClient {
		resp.SetConnectionClose()
	}
	resp.Header.SetCanonical(revisionHeaderKey, b.revValue)
	if cookie != nil {
		resp.Header.Add("Set-Cookie", cookie[0])
	}
	w := bodyWatches.Get().(*bodyWatch)
	*w = bodyWatch{src: up.Body, b: b, start: start, headerAt: time.Now(), code: up.StatusCode}
	size := int(up.ContentLength)
	if size < 0 {
		size = -1
		resp.ImmediateHeaderFlush = true
	}
	resp.SetBodyStream(w, size)
}

// unanswered ends a request the version did not answer (err) or, with
// clientErr set, whose client broke off its body, which is not the
// version's failure: it answers, records and releases it.
func (b *backend) unanswered(ctx *fasthttp.RequestCtx, start time.Time, clientErr, err error) {
	code, failed := codeClientGone, false
	if clientErr != nil {
		clientBrokeOff(ctx)
	} else {
		code, failed = b.fastError(ctx, err), true
	}
	end := time.Now()
	b.metrics.observe(end, end.Sub(start), code, failed)
	b.release()
}

// clientBrokeOff answers a request whose client broke off its body, in
// case it still listens, and closes the connection.
func clientBrokeOff(ctx *fasthttp.RequestCtx) {
	ctx.Error("the request's body ended before its length", http.StatusBadRequest)
	ctx.SetConnectionClose()
}

// readSource is where a bodyWatch reads: the version's answer through
// fasthttp or through net/http.
func (w *bodyWatch) readSource(p []byte) (int, error) {
	if w.src != nil {
		return w.src.Read(p)
	}
	return w.up.BodyStream().Read(p)
}

// closeSource closes what the bodyWatch read.
func (w *bodyWatch) closeSource() error {
	if w.src != nil {
		return w.src.Close()
	}
	err := w.up.CloseBodyStream()
	fasthttp.ReleaseResponse(w.up)
	return err
}
