package replay

// closestCommand returns the index in s.Txs of the recorded command line
// nearest to line by edit distance (ties: the first), or -1 when the script
// has none. Lines are compared on at most their first 256 bytes, and at most
// 4096 distinct lines are tried, which bounds the work on a hostile capture.
func closestCommand(s *Script, line []byte) int {
	best, bestD := -1, 1<<30
	seen := map[string]bool{}
	for i := range s.Txs {
		l := s.Txs[i].Line
		if seen[string(l)] {
			continue
		}
		if len(seen) >= 4096 {
			break
		}
		seen[string(l)] = true
		if d := editDistance(clip(line), clip(l)); d < bestD {
			best, bestD = i, d
		}
	}
	return best
}

func clip(b []byte) []byte {
	if len(b) > 256 {
		return b[:256]
	}
	return b
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b []byte) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
