package memstore

import "fmt"

// Tiers returns the number of records in probation, in returned and in owned, as the
// store counts them.
func (s *Store) Tiers() (inProbation, inReturned, inOwned int) {
	k := s.kv
	return int(k.tiers[probation].Load()), int(k.tiers[returned].Load()), int(k.tiers[owned].Load())
}

// CheckLists checks, one shard at a time, that every record is in the list of its tier
// exactly once and that the lists are well linked; once no call is in flight, that the
// counts of the tiers and of the store match the records held.
func (s *Store) CheckLists() error {
	k := s.kv
	var held [numTiers]int
	for i := range k.shards {
		sh := &k.shards[i]
		sh.mu.RLock()
		n := 0
		for t := range numTiers {
			l := &sh.lists[t]
			var prev *entry
			for e := l.head; e != nil; prev, e = e, e.next {
				if e.prev != prev {
					sh.mu.RUnlock()
					return fmt.Errorf("shard %d, tier %d: an entry's prev is not the entry before it", i, t)
				}
				if e.tier != t || sh.m[e.key] != e {
					sh.mu.RUnlock()
					return fmt.Errorf("shard %d, tier %d: an entry listed is of tier %d, or not the one in the map", i, t, e.tier)
				}
				n++
				held[t]++
			}
			if l.tail != prev {
				sh.mu.RUnlock()
				return fmt.Errorf("shard %d, tier %d: the tail is not the last entry", i, t)
			}
		}
		if n != len(sh.m) {
			sh.mu.RUnlock()
			return fmt.Errorf("shard %d: %d entries listed, %d in the map", i, n, len(sh.m))
		}
		sh.mu.RUnlock()
	}
	total := 0
	for t := range numTiers {
		if got := int(k.tiers[t].Load()); got != held[t] {
			return fmt.Errorf("tier %d counts %d records, holds %d", t, got, held[t])
		}
		total += held[t]
	}
	if got := s.Len(); got != total {
		return fmt.Errorf("Len = %d, the shards hold %d records", got, total)
	}
	return nil
}
