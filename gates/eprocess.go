package gates

import "math"

// Split is one window's requests and "bad" requests (errors, or requests
// slower than a bound) of each version.
type Split struct {
	// Nc and Ns count the candidate's and the stable's requests.
	Nc, Ns int64
	// Yc and Ys count the bad ones among them.
	Yc, Ys int64
}

// Add returns the sum of two splits.
func (s Split) Add(o Split) Split {
	return Split{Nc: s.Nc + o.Nc, Ns: s.Ns + o.Ns, Yc: s.Yc + o.Yc, Ys: s.Ys + o.Ys}
}

// informative reports whether the window says anything about the ratio:
// both versions served and at least one request was bad.
func (s Split) informative() bool { return s.Nc > 0 && s.Ns > 0 && s.Yc+s.Ys > 0 }

// multiples are the alternatives each test's mixture bets on, as multiples
// (a test for "worse") or fractions (a test for "not that much worse") of
// its null ratio, with equal weights. The smallest, 1.5, acts as a soft
// tolerance; see ../shared/reference/canary-judge.md §2.5.
var multiples = [...]float64{1.5, 2, 3, 5, 10}

// ratioTest is an e-process on the rate ratio r = p_c/p_s: it conditions
// each window on its number of bad requests, whose split between the
// versions is then binomial with the candidate's share rρ/(1+rρ), ρ = n_c/n_s,
// whatever the stable's own rate does. Upper tests H0: r ≤ r0 (evidence
// grows when bad requests land on the candidate beyond its traffic share);
// the lower test H0: r ≥ r0. Either is a non-negative supermartingale under
// its null, so by Ville's inequality it reaches 1/α with probability at most
// α, however often it is looked at.
type ratioTest struct {
	r0    float64
	upper bool
	// log holds each alternative's log likelihood ratio so far.
	log [len(multiples)]float64
}

// add multiplies in one window's likelihood ratios, each tempered by the
// power eta in (0, 1], which keeps the test valid (Jensen).
func (t *ratioTest) add(s Split, eta float64) {
	if !s.informative() {
		return
	}
	rho := float64(s.Nc) / float64(s.Ns)
	y, yc := float64(s.Yc+s.Ys), float64(s.Yc)
	null := math.Log1p(t.r0 * rho)
	for k, m := range multiples {
		r := t.r0 * m
		if !t.upper {
			r = t.r0 / m
		}
		t.log[k] += eta * (yc*math.Log(r/t.r0) - y*(math.Log1p(r*rho)-null))
	}
}

// value is the mixture's e-value: the mean of the alternatives' likelihood
// ratios (1 before any evidence). It may be +Inf.
func (t *ratioTest) value() float64 {
	top := math.Inf(-1)
	for _, l := range t.log {
		top = max(top, l)
	}
	var sum float64
	for _, l := range t.log {
		sum += math.Exp(l - top)
	}
	return math.Exp(top) * sum / float64(len(t.log))
}

// dispersion tracks the stable's earlier windows to temper the evidence of
// the next one when the stable's own rate varies from window to window more
// than independent requests would (a sick instance, sticky clients): such
// noise is not shared with the candidate and would otherwise read as a
// difference. See canary-judge.md §2.7.
type dispersion struct {
	windows              int
	sumN, sumY, sumYSqOn float64 // Σ n_s, Σ y_s, Σ y_s²/n_s
}

// eta is the power the window s is tempered by, set from earlier windows
// and the window's request counts only (never its bad counts).
func (d *dispersion) eta(s Split) float64 {
	switch {
	case d.sumY == 0:
		return 1
	case d.windows < 3:
		return 0.5
	}
	p := d.sumY / d.sumN
	phi := (d.sumYSqOn/p - d.sumY) / float64(d.windows-1) // Pearson dispersion
	c2 := max(0, (phi-1)/(d.sumY/float64(d.windows)))
	share := float64(s.Nc) / float64(s.Nc+s.Ns)
	return 1 / (1 + 2*c2*float64(s.Nc)*p*(1-share))
}

// add counts the stable's side of a window that had stable traffic.
func (d *dispersion) add(s Split) {
	if s.Ns == 0 {
		return
	}
	d.windows++
	d.sumN += float64(s.Ns)
	d.sumY += float64(s.Ys)
	d.sumYSqOn += float64(s.Ys) * float64(s.Ys) / float64(s.Ns)
}

// intervalGrid are the null ratios inverted into the anytime-valid interval
// for r: 2^(i/2) from 1/64 to 64.
var intervalGrid = func() []float64 {
	g := make([]float64, 0, 25)
	for i := -12; i <= 12; i++ {
		g = append(g, math.Exp2(float64(i)/2))
	}
	return g
}()

// interval is a confidence sequence for r: the grid ratios at which neither
// the upper test (r is above) nor the lower test (r is below) has reached
// 1/α. By Ville's inequality the true ratio is inside at every poll at once
// with probability at least 1 − 2α.
type interval struct {
	up, down []ratioTest
}

func newInterval() *interval {
	iv := &interval{up: make([]ratioTest, len(intervalGrid)), down: make([]ratioTest, len(intervalGrid))}
	for i, r0 := range intervalGrid {
		iv.up[i] = ratioTest{r0: r0, upper: true}
		iv.down[i] = ratioTest{r0: r0}
	}
	return iv
}

func (iv *interval) add(s Split, eta float64) {
	if !s.informative() {
		return
	}
	for i := range intervalGrid {
		iv.up[i].add(s, eta)
		iv.down[i].add(s, eta)
	}
}

// bounds returns the interval's ends given the evidence a rejection needs:
// low is 0 while nothing shows r above the grid's smallest point, high 0
// (unbounded) while nothing shows it below the largest.
func (iv *interval) bounds(needed float64) (low, high float64) {
	for i, r0 := range intervalGrid { // r is above every ratio whose upper test rejects
		if iv.up[i].value() < needed {
			break
		}
		low = r0
	}
	for i := len(intervalGrid) - 1; i >= 0; i-- {
		if iv.down[i].value() < needed {
			break
		}
		high = intervalGrid[i]
	}
	return low, high
}
