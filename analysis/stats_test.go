package analysis

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/atbridge/atbridge/capture"
)

func TestPercentile(t *testing.T) {
	v := []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, c := range []struct {
		v    []int64
		p    int
		want int64
	}{{nil, 50, 0}, {[]int64{7}, 95, 7}, {v, 50, 5}, {v, 95, 10}, {v, 90, 9}, {v, 100, 10}, {v, 1, 1}} {
		if got := percentile(c.v, c.p); got != c.want {
			t.Errorf("percentile(%v, %d) = %d, want %d", c.v, c.p, got, c.want)
		}
	}
}

// TestCollectorMatchesReadFile feeds a Collector the records of every shipped
// capture, fresh ones from Reader.Next rather than ReadFile's reused
// storage, and checks that it counts exactly what ReadFile counts.
func TestCollectorMatchesReadFile(t *testing.T) {
	files, _ := filepath.Glob("../testdata/*.atcap")
	if len(files) < 5 {
		t.Fatal("no golden captures")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			want, err := ReadFile(context.Background(), f)
			if err != nil {
				t.Fatal(err)
			}
			r, err := capture.Open(f, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			c := NewCollector(f, r.Header())
			for {
				rec, err := r.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				var d *capture.DamageError
				if errors.As(err, &d) {
					c.Damaged(d)
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				c.Add(rec)
			}
			got := c.Finish()
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Collector fed by Next:\n%+v\nReadFile:\n%+v", got, want)
			}
			for _, cs := range got.Commands {
				if n := len(cs.Latencies); n > 0 && cs.LatencyMaxNS != cs.Latencies[n-1] {
					t.Errorf("%s: max %d, latencies %v", cs.Name, cs.LatencyMaxNS, cs.Latencies)
				}
			}
		})
	}
}
