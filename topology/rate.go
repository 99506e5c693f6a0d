package topology

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

var rateRE = regexp.MustCompile(`^\s*(-?\d+)\s*(?:/\s*(\S+))?\s*$`)

// ParseRate parses "N/s", "N/100ms", "N/1m" or a bare "N" (per second).
// "0" means as fast as the workers go.
func ParseRate(s string) (Rate, error) {
	m := rateRE.FindStringSubmatch(s)
	if m == nil {
		return Rate{}, fmt.Errorf("unparsable rate %q (want N/s, N/100ms, N/1m, N or 0)", s)
	}
	freq, err := strconv.Atoi(m[1])
	if err != nil {
		return Rate{}, fmt.Errorf("unparsable rate %q: %w", s, err)
	}
	per := time.Second
	if unit := m[2]; unit != "" {
		// A unit alone is one of it; one starting like a number (.5s,
		// +2s) is a duration as written.
		if !strings.ContainsRune("0123456789.+-", rune(unit[0])) {
			unit = "1" + unit
		}
		per, err = time.ParseDuration(unit)
		if err != nil || per <= 0 {
			return Rate{}, fmt.Errorf("unparsable rate %q: the period after / must be a positive duration like s, 100ms or 1m", s)
		}
	}
	return Rate{Freq: freq, Per: per}, nil
}

// rampOf returns the ramp from → to. When the two use different periods
// both are converted to per second, rounded to whole requests.
func rampOf(from, to Rate) Rate {
	r := Rate{Freq: from.Freq, Per: from.Per, Ramp: true, To: to.Freq}
	if from.Per != to.Per {
		r.Per = time.Second
		r.Freq = int(math.Round(from.PerSecond()))
		r.To = int(math.Round(to.PerSecond()))
	}
	return r
}

// String writes the rate as it is written in a scenario.
func (r Rate) String() string {
	one := func(n int) string {
		switch r.Per {
		case time.Second:
			return fmt.Sprintf("%d/s", n)
		case 0:
			return strconv.Itoa(n)
		}
		return fmt.Sprintf("%d/%s", n, r.Per)
	}
	if r.Ramp {
		return fmt.Sprintf("{from: %s, to: %s}", one(r.Freq), one(r.To))
	}
	return one(r.Freq)
}
