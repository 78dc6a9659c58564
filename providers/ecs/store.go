package ecs

import (
	"context"
	crand "crypto/rand"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ramp-deploy/ramp/providers"
)

const (
	// claimTTL is how long a write's claim holds off other writes of its
	// version: far longer than a write's three calls take, and than a
	// stall a live process survives (a driving process whose lease, two
	// minutes and a half at a one-minute interval, ran out is taken for
	// dead anyway); a writer that died mid-write holds the others up this
	// long at most.
	claimTTL = 3 * time.Minute
	// staleLimit is how many stale tags are left before a write removes
	// them (one UntagResource every few writes).
	staleLimit = 10
	// maxRivalRounds bounds the writes tried while rival claims come and go.
	maxRivalRounds = 5
)

// writeState stores s (whose record is version v) in the tags of the
// service arn, which held cur when the caller read them, and returns the
// tags as they stand after. Tags have no conditional write, so a write
// claims its version before it counts:
//
//  1. TagResource: the state's chunks and its claim, under a new nonce;
//  2. ListTagsForResource: a head already at version v or later means the
//     caller's read was stale: the write removes its tags and is
//     ErrStale. A live claim of another write of v or later means two
//     writers overlap: both see each other, remove their tags, wait for
//     the rival's claim to go (removed, or expired after claimTTL: its
//     writer died) and try again, so at most one of them ever reaches 3;
//  3. TagResource: the head names the write's chunks; from now on every
//     reader reads this state.
//
// A write that passed 2 and stalls for claimTTL before 3 could still
// overwrite a later one: the window left open is that one call, after a
// stall of claimTTL.
func (p *Provider) writeState(ctx context.Context, arn string, cur []types.Tag, s state) ([]types.Tag, error) {
	c, err := p.clientsFor(ctx)
	if err != nil {
		return nil, err
	}
	if cur, err = p.sweep(ctx, c, arn, cur, s); err != nil {
		return nil, err
	}
	for round := 1; ; round++ {
		nonce := strings.ToLower(crand.Text()[:10])
		body, head, err := chunkTags(s, nonce, p.now())
		if err != nil {
			return nil, err
		}
		if n := len(cur) + len(body) + 1; n > maxTags {
			return nil, fmt.Errorf("%w: the rollout state needs %d more tags on the service beside its %d, over ECS's %d a resource; remove some tags", providers.ErrInvalid, len(body)+1, len(cur), maxTags)
		}
		if _, err := c.ecs.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(arn), Tags: body}); err != nil {
			return nil, err
		}
		after, rival, err := p.verify(ctx, c, arn, nonce, s.Record.Version)
		if err != nil {
			return nil, err
		}
		if rival == "" {
			if _, err := c.ecs.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(arn), Tags: []types.Tag{head}}); err != nil {
				return nil, err
			}
			return mergeTags(after, []types.Tag{head}), nil
		}
		if err := p.untag(ctx, c, arn, keysOf(body)); err != nil {
			return nil, err
		}
		if strings.HasPrefix(rival, "stale:") || round >= maxRivalRounds {
			return nil, fmt.Errorf("%w: record version %d: %s", providers.ErrStale, s.Record.Version, strings.TrimPrefix(rival, "stale: "))
		}
		if cur, err = p.awaitRival(ctx, c, arn, nonce, s.Record.Version); err != nil {
			return nil, err
		}
	}
}

// verify reads the tags after a write of version v under nonce and names
// a rival: "stale: ..." when the head reached v, another live claim of v
// or later otherwise, "" when none.
func (p *Provider) verify(ctx context.Context, c *clients, arn, nonce string, v int64) ([]types.Tag, string, error) {
	out, err := c.ecs.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
	if err != nil {
		return nil, "", err
	}
	t := parseTags(out.Tags)
	committed, err := t.state()
	if err != nil {
		return nil, "", err
	}
	why, found := t.rival(nonce, v, committed.Record.Version, p.now())
	switch {
	case !found:
		return out.Tags, "", nil
	case t.head != "" && committed.Record.Version >= v:
		return out.Tags, "stale: " + why, nil
	}
	return out.Tags, why, nil
}

// awaitRival waits, a random while first so overlapping writers part, until
// no live claim of version v or later is left but nonce's own (removed by
// its writer, or expired), and returns the tags then.
func (p *Provider) awaitRival(ctx context.Context, c *clients, arn, nonce string, v int64) ([]types.Tag, error) {
	if err := sleep(ctx, rand.N(time.Second)+100*time.Millisecond); err != nil {
		return nil, err
	}
	deadline := p.now().Add(claimTTL + time.Second)
	for {
		tags, rival, err := p.verify(ctx, c, arn, nonce, v)
		switch {
		case err != nil || rival == "" || strings.HasPrefix(rival, "stale:"):
			return tags, err // a stale read is found by the next write
		case !p.now().Before(deadline):
			return nil, fmt.Errorf("%w: record version %d: %s for over %s", providers.ErrConflict, v, rival, claimTTL)
		}
		if err := sleep(ctx, 2*time.Second); err != nil {
			return nil, err
		}
	}
}

// sweep removes the stale tags when there are many, or when s needs the
// room, and returns the tags left.
func (p *Provider) sweep(ctx context.Context, c *clients, arn string, cur []types.Tag, s state) ([]types.Tag, error) {
	t := parseTags(cur)
	committed, err := t.state()
	if err != nil {
		return cur, nil // unreadable: the write replaces the head
	}
	stale := t.stale("", committed.Record.Version, p.now())
	if len(stale) < staleLimit && len(cur)+maxChunks/3 < maxTags {
		return cur, nil
	}
	if err := p.untag(ctx, c, arn, stale); err != nil {
		return nil, err
	}
	return slices.DeleteFunc(slices.Clone(cur), func(t types.Tag) bool { return slices.Contains(stale, aws.ToString(t.Key)) }), nil
}

func (p *Provider) untag(ctx context.Context, c *clients, arn string, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	_, err := c.ecs.UntagResource(ctx, &ecs.UntagResourceInput{ResourceArn: aws.String(arn), TagKeys: keys})
	return err
}

func keysOf(tags []types.Tag) []string {
	out := make([]string, len(tags))
	for i, t := range tags {
		out[i] = aws.ToString(t.Key)
	}
	return out
}

// mergeTags is cur with set applied, as TagResource does.
func mergeTags(cur, set []types.Tag) []types.Tag {
	out := slices.Clone(cur)
	for _, t := range set {
		i := slices.IndexFunc(out, func(o types.Tag) bool { return aws.ToString(o.Key) == aws.ToString(t.Key) })
		if i >= 0 {
			out[i] = t
		} else {
			out = append(out, t)
		}
	}
	return out
}
