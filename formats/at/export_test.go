package at

// SetSlabSize makes d's stream buffers start at n bytes instead of
// slabSize, so that small tests make them fill up and be reused or replaced.
func SetSlabSize(d *Decoder, n int) {
	d.host.slab, d.dev.slab = n, n
}
