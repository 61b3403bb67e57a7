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
//     non-empty, at most maxProviderLen bytes and free of '/' (validProvider);
//   - a spend scope key (any bytes, 1 to maxSpendKeyLen of them, '/'
//     allowed) either ends a key (spendw/, scanned by the fixed-width
//     prefix before it) or sits in the middle behind its length as three
//     decimal digits (spendk/): two different scope keys then differ in the
//     length or within the key bytes, so neither one's prefix
//     spendk/<len>/<key>/ is a prefix of the other's keys (spendScopePrefix);
//   - a spend window is "day" or "month" and its start is written at the
//     fixed width of its window, so neither is a prefix of another.
//
// Future kinds of records (usage, audit, cache) get their own prefix ending
// in '/' that is not a prefix of, and does not start with, one above.
const (
	keySchema           = "meta/schema"
	prefixService       = "svc/"
	prefixSvcName       = "svcname/"
	prefixToken         = "tok/"
	prefixTokenHash     = "tokh/"
	prefixSvcTokens     = "toksvc/"
	prefixProvKey       = "pkey/"
	prefixSpendWin      = "spendw/"
	prefixSpendKey      = "spendk/"
	prefixConfig        = "cfg/"
	keyPricingOverrides = prefixConfig + "pricing-overrides"
	schemaVersion       = "1"
	maxNameLen          = 1024
	maxProviderLen      = 128
	maxSpendKeyLen      = 256
)

// keyPrefixes lists every prefix, for the test that checks the rules above.
var keyPrefixes = []string{"meta/", prefixService, prefixSvcName, prefixToken, prefixTokenHash, prefixSvcTokens, prefixProvKey,
	prefixSpendWin, prefixSpendKey, prefixConfig}

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

// Layouts of a spend window's start in keys: fixed width, so they sort in
// time order and none is a prefix of another.
const (
	spendDayLayout   = "2006-01-02"
	spendMonthLayout = "2006-01"
)

// spendWindowPrefix is the prefix of every scope's total in one window:
// spendw/<window>/<start>/.
func spendWindowPrefix(window, start string) []byte {
	k := make([]byte, 0, len(prefixSpendWin)+len(window)+len(start)+2)
	k = append(k, prefixSpendWin...)
	k = append(append(k, window...), '/')
	return append(append(k, start...), '/')
}

// spendWindowKey is spendw/<window>/<start>/<scope key>.
func spendWindowKey(window, start, key string) []byte {
	k := make([]byte, 0, len(prefixSpendWin)+len(window)+len(start)+len(key)+2)
	k = append(k, prefixSpendWin...)
	k = append(append(k, window...), '/')
	k = append(append(k, start...), '/')
	return append(k, key...)
}

// spendScopePrefix is the prefix of one scope's totals in one kind of
// window: spendk/<len(key) as 3 digits>/<key>/<window>/. The key must be
// 1 to maxSpendKeyLen bytes long.
func spendScopePrefix(key, window string) []byte {
	k := make([]byte, 0, len(prefixSpendKey)+len(key)+len(window)+len(spendMonthLayout)+6)
	return appendSpendScopePrefix(k, key, window)
}

func appendSpendScopePrefix(k []byte, key, window string) []byte {
	n := len(key)
	k = append(k, prefixSpendKey...)
	k = append(k, byte('0'+n/100), byte('0'+n/10%10), byte('0'+n%10), '/')
	k = append(append(k, key...), '/')
	return append(append(k, window...), '/')
}

// spendScopeKey is spendk/<len(key) as 3 digits>/<key>/<window>/<start>.
func spendScopeKey(key, window, start string) []byte {
	k := make([]byte, 0, len(prefixSpendKey)+len(key)+len(window)+len(start)+6)
	return append(appendSpendScopePrefix(k, key, window), start...)
}
