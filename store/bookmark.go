package store

import (
	"fmt"
	"time"

	"github.com/ipfs/go-cid"
	bolt "go.etcd.io/bbolt"
)

// Bookmark names an MRI.
type Bookmark struct {
	Name    string // 1 to 64 of [A-Za-z0-9._-]
	Target  string // an MRI string
	Created time.Time
	// Follow asks the node to fetch each new version of a mutable MRI.
	Follow bool
	// Resolved is the package the channel of a followed bookmark pointed at
	// when it was last resolved (cid.Undef if never), at ResolvedAt. The node
	// falls back on it when the network cannot answer.
	Resolved   cid.Cid
	ResolvedAt time.Time
}

// validName reports whether s is a valid bookmark name.
func validName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// PutBookmark creates or replaces the bookmark b.Name (ErrBadName if the
// name is invalid). A zero Created defaults to now.
func (db *DB) PutBookmark(b Bookmark) error {
	return db.AddBookmark(b, true)
}

// AddBookmark creates the bookmark b.Name; if one exists it is replaced when
// replace is set and ErrExists otherwise, in one transaction. A zero Created
// defaults to now.
func (db *DB) AddBookmark(b Bookmark, replace bool) error {
	if !validName(b.Name) {
		return fmt.Errorf("store: put bookmark %q: %w: want 1 to 64 of A-Z a-z 0-9 . _ -", b.Name, ErrBadName)
	}
	if b.Created.IsZero() {
		b.Created = db.now()
	}
	err := db.update(func(tx *bolt.Tx) error {
		bk := tx.Bucket(bucketBookmarks)
		if !replace && bk.Get([]byte(b.Name)) != nil {
			return ErrExists
		}
		return bk.Put([]byte(b.Name), encodeBookmark(b))
	})
	if err != nil {
		return fmt.Errorf("store: put bookmark %q: %w", b.Name, err)
	}
	return nil
}

// UpdateBookmark reads the bookmark called name, lets fn change it and
// writes it back, in one transaction (ErrNotFound if none). The name cannot
// change; an error from fn aborts the update and is returned.
func (db *DB) UpdateBookmark(name string, fn func(b *Bookmark) error) error {
	err := db.update(func(tx *bolt.Tx) error {
		bk := tx.Bucket(bucketBookmarks)
		v := bk.Get([]byte(name))
		if v == nil {
			return ErrNotFound
		}
		b, err := decodeBookmark(name, v)
		if err != nil {
			return err
		}
		if err := fn(&b); err != nil {
			return err
		}
		b.Name = name
		return bk.Put([]byte(name), encodeBookmark(b))
	})
	if err != nil {
		return fmt.Errorf("store: update bookmark %q: %w", name, err)
	}
	return nil
}

// Bookmark returns the bookmark called name (ErrNotFound if none).
func (db *DB) Bookmark(name string) (Bookmark, error) {
	var b Bookmark
	var found bool
	err := db.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketBookmarks).Get([]byte(name))
		if v == nil {
			return nil
		}
		found = true
		var err error
		b, err = decodeBookmark(name, v)
		return err
	})
	if err == nil && !found {
		err = ErrNotFound
	}
	if err != nil {
		return Bookmark{}, fmt.Errorf("store: bookmark %q: %w", name, err)
	}
	return b, nil
}

// Bookmarks returns every bookmark, sorted by name.
func (db *DB) Bookmarks() ([]Bookmark, error) {
	var out []Bookmark
	err := db.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketBookmarks).ForEach(func(k, v []byte) error {
			b, err := decodeBookmark(string(k), v)
			if err != nil {
				return err
			}
			out = append(out, b)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: bookmarks: %w", err)
	}
	return out, nil
}

// DeleteBookmark deletes the bookmark called name (ErrNotFound if none).
func (db *DB) DeleteBookmark(name string) error {
	err := db.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketBookmarks)
		if b.Get([]byte(name)) == nil {
			return ErrNotFound
		}
		return b.Delete([]byte(name))
	})
	if err != nil {
		return fmt.Errorf("store: delete bookmark %q: %w", name, err)
	}
	return nil
}
