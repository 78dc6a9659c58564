package aws

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/aws/smithy-go/encoding/cbor"
)

// The wire details of the three protocols.
const (
	ecsTargetPrefix = "AmazonEC2ContainerServiceV20141113."
	elbNamespace    = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"
	cborPathPrefix  = "/service/" + cloudWatchModel + "/operation/"
	requestID       = "8f8a0c3e-1d2b-4e5f-9a6b-7c8d9e0f1a2b"
)

// Handler serves the world's ECS (awsJson1_1: POST / with X-Amz-Target),
// CloudWatch (Smithy RPC v2 CBOR: POST /service/GraniteServiceVersion20100801/operation/OP)
// and ELBv2 (awsQuery: a form POST with Action=OP) on one endpoint. It
// ignores the request signature.
func (w *World) Handler() http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
		if err != nil || r.Method != http.MethodPost {
			http.Error(rw, "POST a request", http.StatusBadRequest)
			return
		}
		switch {
		case strings.HasPrefix(r.Header.Get("X-Amz-Target"), ecsTargetPrefix):
			w.serveECS(rw, strings.TrimPrefix(r.Header.Get("X-Amz-Target"), ecsTargetPrefix), body)
		case strings.HasPrefix(r.URL.Path, cborPathPrefix):
			w.serveCloudWatch(rw, strings.TrimPrefix(r.URL.Path, cborPathPrefix), body)
		default:
			r.Body = io.NopCloser(bytes.NewReader(body))
			if err := r.ParseForm(); err != nil || r.PostForm.Get("Action") == "" {
				http.Error(rw, "not an ECS, ELBv2 or CloudWatch request", http.StatusBadRequest)
				return
			}
			w.serveELB(rw, r.PostForm.Get("Action"), parseQuery(r.PostForm))
		}
	})
}

func (w *World) serveECS(rw http.ResponseWriter, op string, body []byte) {
	w.tapWrite("ecs", op)
	w.mu.Lock()
	var out any
	var err error
	if w.denied("ecs", op) {
		err = fail("AccessDeniedException", "User: arn:aws:sts::%s:assumed-role/ci/ramp is not authorized to perform: ecs:%s", w.account, op)
	} else if f := w.ecsOps()[op]; f == nil {
		err = fail("UnknownOperationException", "The fake does not serve %s", op)
	} else {
		out, err = f(body)
	}
	w.mu.Unlock()
	rw.Header().Set("Content-Type", "application/x-amz-json-1.1")
	rw.Header().Set("X-Amzn-RequestId", requestID)
	var ae *apiError
	if errors.As(err, &ae) {
		rw.WriteHeader(status(ae))
		out = obj{"__type": ae.Code, "message": ae.Message}
	}
	b, _ := json.Marshal(out) // maps of JSON values always encode
	rw.Write(b)
}

func (w *World) serveELB(rw http.ResponseWriter, op string, in node) {
	w.tapWrite("elasticloadbalancing", op)
	w.mu.Lock()
	var out any
	var err error
	if w.denied("elasticloadbalancing", op) {
		err = fail("AccessDenied", "User: arn:aws:sts::%s:assumed-role/ci/ramp is not authorized to perform: elasticloadbalancing:%s", w.account, op)
	} else if f := w.elbOps()[op]; f == nil {
		err = fail("InvalidAction", "The fake does not serve %s", op)
	} else {
		out, err = f(in)
	}
	w.mu.Unlock()
	rw.Header().Set("Content-Type", "text/xml")
	var buf bytes.Buffer
	var ae *apiError
	if errors.As(err, &ae) {
		fmt.Fprintf(&buf, `<ErrorResponse xmlns=%q><Error><Type>Sender</Type><Code>%s</Code><Message>`, elbNamespace, ae.Code)
		writeXML(&buf, "", ae.Message)
		fmt.Fprintf(&buf, `</Message></Error><RequestId>%s</RequestId></ErrorResponse>`, requestID)
		rw.WriteHeader(status(ae))
		rw.Write(buf.Bytes())
		return
	}
	fmt.Fprintf(&buf, `<%sResponse xmlns=%q>`, op, elbNamespace)
	writeXML(&buf, op+"Result", out)
	fmt.Fprintf(&buf, `<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>`, requestID, op)
	rw.Write(buf.Bytes())
}

func (w *World) serveCloudWatch(rw http.ResponseWriter, op string, body []byte) {
	w.mu.Lock()
	var out cbor.Value
	var err error
	in, derr := cbor.Decode(body)
	m, isMap := in.(cbor.Map)
	switch {
	case w.denied("monitoring", op):
		err = fail("AccessDenied", "User: arn:aws:sts::%s:assumed-role/ci/ramp is not authorized to perform: cloudwatch:%s", w.account, op)
	case op != "GetMetricData":
		err = fail("UnknownOperationException", "The fake does not serve %s", op)
	case derr != nil || !isMap:
		err = fail("SerializationException", "the body is not a CBOR map")
	default:
		out, err = w.getMetricData(m)
	}
	w.mu.Unlock()
	rw.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	rw.Header().Set("Content-Type", "application/cbor")
	var ae *apiError
	if errors.As(err, &ae) {
		rw.Header().Set("X-Amzn-Query-Error", ae.Code+";Sender")
		rw.WriteHeader(status(ae))
		shape := ae.Code
		if shape == "InvalidParameterValue" { // the modeled error's shape; its query code is the header's
			shape += "Exception"
		}
		out = cbor.Map{"__type": cbor.String("com.amazonaws.cloudwatch#" + shape), "message": cbor.String(ae.Message)}
	}
	rw.Write(cbor.Encode(out))
}

// status is the HTTP status AWS answers an error with.
func status(e *apiError) int {
	switch {
	case e.Server:
		return http.StatusInternalServerError
	case strings.HasPrefix(e.Code, "AccessDenied"):
		return http.StatusForbidden
	}
	return http.StatusBadRequest
}

// ListenLoopback listens on addr (host:port; port 0 picks a free one),
// which must be a loopback address: the fake takes no credentials and
// speaks plain HTTP, so it never listens beyond this machine.
func ListenLoopback(addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("address %s is not on loopback (127.0.0.0/8, ::1 or localhost)", addr)
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return lis, nil
}

// Doer is an HTTP client that hands each request to the world's Handler
// in the calling goroutine, without a network: the SDK clients' HTTPClient
// in tests that run under testing/synctest, where a socket would keep the
// bubble's clock from advancing.
type Doer struct{ W *World }

// Do serves req.
func (d Doer) Do(req *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	d.W.Handler().ServeHTTP(rec, req)
	return rec.Result(), nil
}
