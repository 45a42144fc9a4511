// Package cookiestore keeps the whole session in the client's cookie, sealed with
// AES-256-GCM, with no state on the server: the typed, authenticated answer to Express's
// cookieSession.
//
// A [*Store] is a [store.Store], so switching a Manager between the cookie and a
// server-side store is one line:
//
//	store, err := cookiestore.New(cookiestore.Options{Keys: [][]byte{key}})
//	if err != nil { ... }
//	sessions, err := typedsession.New[Profile](store, typedsession.Options{})
//
// Get, Put, Update, Renew and Destroy work as with any store. What a cookie store cannot
// do is listed in the last section: revoke a copied cookie, and protect against lost
// updates.
//
// # The sealed cookie
//
// The cookie value is the unpadded base64url encoding of
//
//	byte 0       format, 1
//	bytes 1-4    key id, big-endian: which key of the ring sealed it
//	bytes 5-16   nonce, 12 bytes from crypto/rand
//	the rest     AES-256-GCM ciphertext and 16-byte tag of the record
//
// The plaintext is the record as [store.Record.AppendBinary] encodes it: the
// Expiry (the earlier of the idle and the absolute deadline), the creation time, the
// "remember me" flag, the Owner and the encoded session data. The additional data of the
// seal is the format, the key id and the cookie name, so a value altered in any bit,
// truncated, extended, sealed for another cookie name, or claiming another key does not
// open. The expiry is inside the seal and is checked on every [Store.Load] (against
// Options.Now): the cookie's Max-Age only tells the browser when to forget it, and a
// client that keeps the cookie longer gains nothing. A value that does not open is "no
// session", never an error and never a panic.
//
// The envelope adds 33 bytes (format, key id, nonce, tag) and the record 35 more, before
// base64's 4/3. The canonical Profile of the project's benchmark (441 bytes as JSON)
// makes a 679-byte cookie value with the JSON codec; gorilla/sessions' CookieStore (hash
// and block key, the Profile gob-encoded in session.Values) makes 984 bytes of the same.
//
// # Keys and rotation
//
// Options.Keys is a key ring of 32-byte keys from crypto/rand. The first key seals;
// every key opens. A cookie opened with an older key is sealed again with the first one
// on its next write (any change, or the idle-expiry touch). A key's id is derived from
// the key itself, so the order of the ring can change freely.
//
// To rotate, with one instance: put the new key first and keep the old one after it,
// Keys = [new, old]. With several instances behind a load balancer, do it in two deploys,
// so that no instance meets a cookie sealed with a key it does not know yet:
//
//  1. Keys = [old, new] everywhere: every instance can open the new key.
//  2. Keys = [new, old]: the new key seals from now on.
//  3. Once the Manager's Lifetime has passed since step 2 reached every instance, no
//     live cookie was sealed with the old key: remove it, Keys = [new].
//
// If a key has leaked, remove it at once: every cookie it sealed becomes "no session",
// and its users sign in again.
//
// # Nonce budget
//
// Every seal (a new session, every change, every idle-expiry touch) draws a random
// 96-bit nonce. Two seals under one key with the same nonce would expose the XOR of the
// two plaintexts and let an attacker forge cookies, so NIST SP 800-38D limits a key to
// 2^32 (about 4.3 billion) seals with random nonces, which keeps the chance of any
// repeat under 2^-32. That is a fleet-wide count, across all instances sharing the key:
// 1,000 seals a second reach it in about 50 days, 100 a second in about 16 months. Rotate
// the sealing key well within the budget: estimate your seal rate (writes plus touches;
// a longer TouchInterval means fewer touches) and rotate on a schedule that keeps each
// key below about 2^31 seals, monthly if in doubt. Rotation is cheap (see above).
//
// # Size
//
// Browsers keep cookies of up to 4096 bytes, counting the name, the value and the
// attributes ([CookieLimit]). Save counts the name, the value and Options.AttributeBytes
// (default 200, for "; Path=/; Domain=...; Expires=...; Max-Age=...; HttpOnly; Secure;
// SameSite=Lax") and refuses a cookie that would pass the limit: the error wraps
// [typedsession.ErrTooLarge], the Manager reports it to its ErrorHandler, no Set-Cookie
// is sent and the client's previous cookie stays valid. Nothing is ever truncated.
//
// Under a Manager with the default options (the cookie "__Host-session", 200 bytes for
// attributes), the largest session that fits is 2842 bytes of encoded data (the
// Codec's output), less the length of the Owner if there is one (and one byte more for
// an Owner of 128 bytes or more); a longer cookie name leaves less.
// [Store.MaxData] computes it for the store's name and options. For more, use a
// server-side store.
//
// # What a cookie store cannot do
//
// Revoke. Destroy (logout) expires the cookie in the browser, but a copy of the old
// cookie, taken before, stays valid until the expiry sealed inside it: there is no
// server-side state to delete. Keep Lifetime and IdleTimeout short, and call Renew on
// login so that a cookie planted before login does not carry over. To close the gap,
// set Options.Verify: Load calls it on every record that opened, and a false makes the
// cookie "no session". A per-user "valid after" time does it with one lookup:
//
//	Verify: func(ctx context.Context, rec store.Record) (bool, error) {
//		after, err := db.ValidAfter(ctx, rec.Owner) // set to now on logout everywhere
//		if err != nil {
//			return false, err // a failure, not "no session"
//		}
//		return rec.Created.After(after), nil
//	},
//
// For this the session needs an Owner, or Verify can decode rec.Data with the
// Manager's Codec to find the user. Listing and deleting the sessions of an owner
// ([store.OwnerStore]) is not supported.
//
// Protect against lost updates. A cookie store is last-writer-wins: of two concurrent
// requests that change one session, the response that reaches the browser last wins,
// and Save never reports a conflict.
package cookiestore
