package storage

import (
	"strings"
	"unicode/utf8"
)

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
//     fixed width of its window, so neither is a prefix of another;
//   - usage totals follow the spend rules: usage/<len>/<key>/<window>/<start>
//     is laid out like spendk/ (usageScopePrefix);
//   - an audit record's ID passes validID(AuditIDPrefix) before it goes
//     into a key; its service and token IDs sit in the middle of scanned
//     index keys (auditsvc/, audittok/), so they must be free of '/' and at
//     most maxAuditRefLen bytes (validAuditRef, which also wants UTF-8):
//     the gateway's own IDs, checked all the same;
//   - a cache key (any bytes, 1 to MaxCacheKeySize of them) only ends keys,
//     which are read by point lookup or by a scan of all of cache/.
//
// Future kinds of records get their own prefix ending in '/' that is not a
// prefix of, and does not start with, one above (TestKeyPrefixes).
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
	prefixAudit         = "audit/"
	prefixAuditSvc      = "auditsvc/"
	prefixAuditTok      = "audittok/"
	prefixUsage         = "usage/"
	prefixCache         = "cache/"
	keyPricingOverrides = prefixConfig + "pricing-overrides"
	schemaVersion       = "1"
	maxNameLen          = 1024
	maxProviderLen      = 128
	maxSpendKeyLen      = 256
	maxAuditRefLen      = 128
)

// keyPrefixes lists every prefix, for the test that checks the rules above.
var keyPrefixes = []string{"meta/", prefixService, prefixSvcName, prefixToken, prefixTokenHash, prefixSvcTokens, prefixProvKey,
	prefixSpendWin, prefixSpendKey, prefixConfig, prefixAudit, prefixAuditSvc, prefixAuditTok, prefixUsage, prefixCache}

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
	return appendScopePrefix(k, prefixSpendKey, key, window)
}

// appendScopePrefix appends <family><len(key) as 3 digits>/<key>/<window>/
// to k: the layout of spendk/ and usage/ keys.
func appendScopePrefix(k []byte, family, key, window string) []byte {
	n := len(key)
	k = append(k, family...)
	k = append(k, byte('0'+n/100), byte('0'+n/10%10), byte('0'+n%10), '/')
	k = append(append(k, key...), '/')
	return append(append(k, window...), '/')
}

// spendScopeKey is spendk/<len(key) as 3 digits>/<key>/<window>/<start>.
func spendScopeKey(key, window, start string) []byte {
	k := make([]byte, 0, len(prefixSpendKey)+len(key)+len(window)+len(start)+6)
	return append(appendSpendScopePrefix(k, key, window), start...)
}

// usageScopePrefix is the prefix of one scope's usage totals in one kind of
// window: usage/<len(key) as 3 digits>/<key>/<window>/, laid out like
// spendScopePrefix. The key must be 1 to maxSpendKeyLen bytes long.
func usageScopePrefix(key, window string) []byte {
	k := make([]byte, 0, len(prefixUsage)+len(key)+len(window)+len(spendMonthLayout)+6)
	return appendScopePrefix(k, prefixUsage, key, window)
}

// usageScopeKey is usage/<len(key) as 3 digits>/<key>/<window>/<start>.
func usageScopeKey(key, window, start string) []byte {
	k := make([]byte, 0, len(prefixUsage)+len(key)+len(window)+len(start)+6)
	return append(appendScopePrefix(k, prefixUsage, key, window), start...)
}

// validAuditRef reports whether a service or token ID of an audit record can
// be a middle segment of an index key: 1 to maxAuditRefLen bytes without
// '/', and UTF-8, since the record holds it as a JSON string, which would
// not keep other bytes as they are in the index key.
func validAuditRef(id string) bool {
	return id != "" && len(id) <= maxAuditRefLen && strings.IndexByte(id, '/') < 0 && utf8.ValidString(id)
}

func auditKey(id string) []byte { return []byte(prefixAudit + id) }

func auditServicePrefix(serviceID string) []byte { return []byte(prefixAuditSvc + serviceID + "/") }
func auditServiceKey(serviceID, id string) []byte {
	return []byte(prefixAuditSvc + serviceID + "/" + id)
}

func auditTokenPrefix(tokenID string) []byte { return []byte(prefixAuditTok + tokenID + "/") }
func auditTokenKey(tokenID, id string) []byte {
	return []byte(prefixAuditTok + tokenID + "/" + id)
}

// cacheKey is cache/<key bytes>.
func cacheKey(key []byte) []byte {
	k := make([]byte, 0, len(prefixCache)+len(key))
	return append(append(k, prefixCache...), key...)
}
