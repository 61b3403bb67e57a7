package storage

import "strings"

// Key prefixes of the Badger database; the layout is in the doc comment of
// Badger.
//
// Rules that keep user-supplied strings from reaching into another part of
// the key space:
//   - every prefix ends in '/' and none is a prefix of another, so a prefix
//     scan of one kind of record never sees another kind;
//   - a string from a request is used as an ID in a key only after validID
//     accepted it (so it contains no '/');
//   - a service name is only ever the last segment of a key that is read by
//     point lookup (svcname/), never scanned, so any bytes are safe there;
//     its length is capped (maxNameLen) to stay far below Badger's key limit;
//   - a provider name is a middle segment, scanned by prefix, so it must be
//     non-empty, at most maxProviderLen bytes and free of '/' (validProvider).
//
// Future kinds of records (usage, audit, cache) get their own prefix ending
// in '/' that is not a prefix of, and does not start with, one above.
const (
	keySchema       = "meta/schema"
	prefixService   = "svc/"
	prefixSvcName   = "svcname/"
	prefixToken     = "tok/"
	prefixTokenHash = "tokh/"
	prefixSvcTokens = "toksvc/"
	prefixProvKey   = "pkey/"
	schemaVersion   = "1"
	maxNameLen      = 1024
	maxProviderLen  = 128
)

// keyPrefixes lists every prefix, for the test that checks the rules above.
var keyPrefixes = []string{"meta/", prefixService, prefixSvcName, prefixToken, prefixTokenHash, prefixSvcTokens, prefixProvKey}

func serviceKey(id string) []byte       { return []byte(prefixService + id) }
func serviceNameKey(name string) []byte { return []byte(prefixSvcName + name) }
func tokenKey(id string) []byte         { return []byte(prefixToken + id) }

func tokenHashKey(h [32]byte) []byte {
	k := make([]byte, len(prefixTokenHash)+len(h))
	copy(k, prefixTokenHash)
	copy(k[len(prefixTokenHash):], h[:])
	return k
}

func serviceTokensPrefix(serviceID string) []byte { return []byte(prefixSvcTokens + serviceID + "/") }
func serviceTokenKey(serviceID, tokenID string) []byte {
	return []byte(prefixSvcTokens + serviceID + "/" + tokenID)
}

func providerKeysPrefix(provider string) []byte { return []byte(prefixProvKey + provider + "/") }
func providerKeyKey(provider, id string) []byte { return []byte(prefixProvKey + provider + "/" + id) }

// validProvider reports whether a provider name can be a key segment.
func validProvider(p string) bool {
	return p != "" && len(p) <= maxProviderLen && strings.IndexByte(p, '/') < 0
}
