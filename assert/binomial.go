package assert

import "math"

// This file holds the binomial statistics of the sampling check: the Wilson
// score and Clopper-Pearson intervals and the two-sided exact binomial test.
// Only the standard library: the normal quantile is √2·erfinv, the beta
// quantiles invert the regularized incomplete beta function (a continued
// fraction) by bisection.

// normalQuantile returns z with P(|Z| ≤ z) = confidence for a standard
// normal Z: the two-sided critical value.
func normalQuantile(confidence float64) float64 {
	return math.Sqrt2 * math.Erfinv(confidence)
}

// wilson returns the Wilson score interval of k successes in n trials at
// the given two-sided confidence.
func wilson(k, n int, confidence float64) (lo, hi float64) {
	if n == 0 {
		return 0, 1
	}
	z := normalQuantile(confidence)
	fn := float64(n)
	p := float64(k) / fn
	z2 := z * z
	den := 1 + z2/fn
	center := (p + z2/(2*fn)) / den
	half := z / den * math.Sqrt(p*(1-p)/fn+z2/(4*fn*fn))
	lo, hi = max(0, center-half), min(1, center+half)
	// The interval contains 0 at k = 0 and 1 at k = n exactly, which
	// rounding would otherwise miss by an ulp.
	if k == 0 {
		lo = 0
	}
	if k == n {
		hi = 1
	}
	return lo, hi
}

// clopperPearson returns the exact (Clopper-Pearson) interval of k
// successes in n trials: the α/2 quantile of Beta(k, n-k+1) and the 1-α/2
// quantile of Beta(k+1, n-k), with α = 1 - confidence.
func clopperPearson(k, n int, confidence float64) (lo, hi float64) {
	if n == 0 {
		return 0, 1
	}
	alpha := 1 - confidence
	lo, hi = 0, 1
	if k > 0 {
		lo = betaQuantile(alpha/2, float64(k), float64(n-k+1))
	}
	if k < n {
		hi = betaQuantile(1-alpha/2, float64(k+1), float64(n-k))
	}
	return lo, hi
}

// betaQuantile returns x with I_x(a, b) = q, by bisection (I is increasing
// in x); 100 halvings reach the float64 resolution of [0, 1].
func betaQuantile(q, a, b float64) float64 {
	lo, hi := 0.0, 1.0
	for range 100 {
		mid := (lo + hi) / 2
		if mid == lo || mid == hi {
			break
		}
		if regIncBeta(mid, a, b) < q {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}

// regIncBeta returns the regularized incomplete beta function I_x(a, b),
// by the continued fraction of Numerical Recipes (§6.4), evaluated with
// the modified Lentz method, using the symmetry I_x(a,b) = 1 - I_{1-x}(b,a)
// where the fraction converges slowly.
func regIncBeta(x, a, b float64) float64 {
	switch {
	case x <= 0:
		return 0
	case x >= 1:
		return 1
	}
	la, _ := math.Lgamma(a)
	lb, _ := math.Lgamma(b)
	lab, _ := math.Lgamma(a + b)
	front := math.Exp(lab - la - lb + a*math.Log(x) + b*math.Log1p(-x))
	if x < (a+1)/(a+b+2) {
		return front * betaCF(x, a, b) / a
	}
	return 1 - front*betaCF(1-x, b, a)/b
}

// betaCF evaluates the continued fraction of the incomplete beta function.
func betaCF(x, a, b float64) float64 {
	const (
		maxIter = 10000
		eps     = 1e-15
		tiny    = 1e-300
	)
	qab, qap, qam := a+b, a+1, a-1
	c, d := 1.0, 1-qab*x/qap
	if math.Abs(d) < tiny {
		d = tiny
	}
	d = 1 / d
	h := d
	for m := 1; m <= maxIter; m++ {
		fm := float64(m)
		m2 := 2 * fm
		aa := fm * (b - fm) * x / ((qam + m2) * (a + m2))
		d = 1 + aa*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = 1 + aa/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		h *= d * c
		aa = -(a + fm) * (qab + fm) * x / ((a + m2) * (qap + m2))
		d = 1 + aa*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = 1 + aa/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		del := d * c
		h *= del
		if math.Abs(del-1) < eps {
			break
		}
	}
	return h
}

// binomLogPMF returns log P(X = i) for X ~ Binomial(n, p), 0 < p < 1.
func binomLogPMF(i, n int, logP, log1mP, logNFact float64) float64 {
	li, _ := math.Lgamma(float64(i) + 1)
	lni, _ := math.Lgamma(float64(n-i) + 1)
	return logNFact - li - lni + float64(i)*logP + float64(n-i)*log1mP
}

// binomTest returns the two-sided exact binomial test's p-value of k
// successes in n trials under success probability p: the total probability
// of the outcomes no more likely than k (the "minlike" rule of R's
// binom.test), summed in log space relative to P(k) so that large n neither
// underflows nor loses the small terms' share.
func binomTest(k, n int, p float64) float64 {
	switch {
	case n == 0:
		return 1
	case p <= 0:
		if k == 0 {
			return 1
		}
		return 0
	case p >= 1:
		if k == n {
			return 1
		}
		return 0
	}
	logP, log1mP := math.Log(p), math.Log1p(-p)
	logNFact, _ := math.Lgamma(float64(n) + 1)
	lk := binomLogPMF(k, n, logP, log1mP, logNFact)
	const relErr = 1 + 1e-7 // as binom.test: ties within rounding count
	limit := lk + math.Log(relErr)
	sum := 0.0
	// The distribution is unimodal: walk out from the mode on each side
	// and stop once terms are below P(k) and negligible relative to it.
	mode := min(n, int(float64(n+1)*p))
	for i := mode; i >= 0; i-- {
		l := binomLogPMF(i, n, logP, log1mP, logNFact)
		if l <= limit {
			sum += math.Exp(l - lk)
			if l-lk < -60 {
				break
			}
		}
	}
	for i := mode + 1; i <= n; i++ {
		l := binomLogPMF(i, n, logP, log1mP, logNFact)
		if l <= limit {
			sum += math.Exp(l - lk)
			if l-lk < -60 {
				break
			}
		}
	}
	return min(1, math.Exp(lk+math.Log(sum)))
}
