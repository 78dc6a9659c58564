package cloudrun

import (
	"errors"
	"testing"

	"cloud.google.com/go/run/apiv2/runpb"

	"github.com/ramp-deploy/ramp/providers"
)

// FuzzDecodeRecord: any value of the rollout annotation (written by hand,
// by an older ramp, or cut short) either decodes into a record that
// encodes again, and whose encoding is a fixed point of decode and encode,
// or is refused as ErrInvalid. Nothing panics.
func FuzzDecodeRecord(f *testing.F) {
	f.Add(`{"id":"r1","phase":"progressing","strategy":"canary","step":2,"weight":25,"version":3}`)
	f.Fuzz(func(t *testing.T, annotation string) {
		svc := &runpb.Service{Annotations: map[string]string{annotationRollout: annotation}}
		r, err := decodeRecord(svc)
		if err != nil {
			if !errors.Is(err, providers.ErrInvalid) {
				t.Fatalf("decodeRecord(%q) = %v, not ErrInvalid", annotation, err)
			}
			return
		}
		once, err := encodeRecord(r)
		if err != nil {
			t.Fatalf("decodeRecord(%q) = %+v, which does not encode: %v", annotation, r, err)
		}
		setAnnotation(svc, annotationRollout, once)
		r2, err := decodeRecord(svc)
		if err != nil {
			t.Fatalf("the record encoded as %q does not decode: %v", once, err)
		}
		twice, err := encodeRecord(r2)
		if err != nil || twice != once {
			t.Fatalf("record encoded as %q, decoded and encoded again: %q, %v", once, twice, err)
		}
	})
}
