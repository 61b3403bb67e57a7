package policy

import (
	"fmt"
	"reflect"
	"slices"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
)

// The policy variables are CEL struct types backed directly by the Go structs
// of this package. Each field has a hand-written accessor (a type assertion and
// a field read), so evaluating request.model costs no reflection and no
// conversion of the whole Input into maps, and a misspelt field
// (request.modle) is a compile error, not a runtime "no such key".
//
// The type names below appear in compiler messages, e.g. "undefined field
// 'modle'" on a gateway.Request.
const (
	requestTypeName = "gateway.Request"
	subjectTypeName = "gateway.Subject"
	usageTypeName   = "gateway.Usage"
)

// structField describes one field of a policy struct type.
type structField struct {
	name  string
	typ   *types.Type
	get   func(obj any) any  // obj has already been checked to be the Go type; a ref.Val or a Go map
	isSet func(obj any) bool // nil: set when the value is not the zero value (proto3 rule)
}

// structType is a types.StructTypeDescriptor (and ref.Type) for one of the Go
// structs that make up a policy's input.
type structType struct {
	name    string
	celType *types.Type
	rt      reflect.Type // pointer type, e.g. *Request: what the activation hands out
	fields  map[string]*types.FieldType
	names   []string
	byName  map[string]structField
	// ptr returns obj as the struct pointer, or false when obj is another
	// type (defensive; the interpreter only passes values of declared type).
	ptr func(obj any) (any, bool)
}

func newStructType[T any](name string, fields ...structField) *structType {
	t := &structType{
		name:    name,
		celType: types.NewObjectType(name),
		rt:      reflect.TypeFor[*T](),
		fields:  make(map[string]*types.FieldType, len(fields)),
		byName:  make(map[string]structField, len(fields)),
		ptr: func(obj any) (any, bool) {
			p, ok := obj.(*T)
			return p, ok && p != nil
		},
	}
	for _, f := range fields {
		t.names = append(t.names, f.name)
		t.byName[f.name] = f
		t.fields[f.name] = &types.FieldType{
			Type: f.typ,
			IsSet: func(obj any) bool {
				p, ok := t.ptr(obj)
				if !ok {
					return false
				}
				if f.isSet != nil {
					return f.isSet(p)
				}
				return isNonZero(f.get(p))
			},
			GetFrom: func(obj any) (any, error) {
				p, ok := t.ptr(obj)
				if !ok {
					return nil, fmt.Errorf("field %q: value of type %T is not a %s", f.name, obj, name)
				}
				v := f.get(p)
				if err, isErr := v.(*types.Err); isErr {
					return nil, err
				}
				return v, nil
			},
		}
	}
	slices.Sort(t.names)
	return t
}

// HasTrait implements ref.Type.
func (t *structType) HasTrait(trait int) bool {
	return trait&(traits.FieldTesterType|traits.IndexerType) == trait
}

// TypeName implements ref.Type.
func (t *structType) TypeName() string { return t.name }

// ReflectType implements types.StructTypeDescriptor. It lets the registry wrap
// a whole *Request (as in dyn(request) or request == request) into a CEL value.
func (t *structType) ReflectType() reflect.Type { return t.rt }

// FieldNames implements types.StructTypeDescriptor.
func (t *structType) FieldNames() []string { return append([]string(nil), t.names...) }

// FindFieldType implements types.StructTypeDescriptor.
func (t *structType) FindFieldType(name string) (*types.FieldType, bool) {
	f, ok := t.fields[name]
	return f, ok
}

// NewValue implements types.StructTypeDescriptor. Policies cannot build
// gateway values (a validator rejects struct literals at compile time); this
// is the runtime backstop.
func (t *structType) NewValue(types.Adapter, map[string]ref.Val) ref.Val {
	return types.NewErr("policies cannot construct %s values", t.name)
}

// Adapt implements types.StructTypeDescriptor.
func (t *structType) Adapt(adapter types.Adapter, value any) ref.Val {
	p, ok := t.ptr(value)
	if !ok {
		// A struct value rather than a pointer, e.g. from a conversion.
		if rv := reflect.ValueOf(value); rv.IsValid() && rv.Type() == t.rt.Elem() {
			cp := reflect.New(t.rt.Elem())
			cp.Elem().Set(rv)
			return &structVal{t: t, v: cp.Interface(), adapter: adapter}
		}
		return types.NullValue
	}
	return &structVal{t: t, v: p, adapter: adapter}
}

// structVal is a whole policy struct as a CEL value. Field selection on the
// declared variables never builds one; it exists for expressions that use a
// variable as a value (dyn(request).model, request == request, type(usage)).
type structVal struct {
	t       *structType
	v       any // pointer to the Go struct
	adapter types.Adapter
}

func (o *structVal) ConvertToNative(typeDesc reflect.Type) (any, error) {
	if typeDesc == o.t.rt {
		return o.v, nil
	}
	return nil, fmt.Errorf("type conversion error from '%s' to '%v'", o.t.name, typeDesc)
}

func (o *structVal) ConvertToType(typeVal ref.Type) ref.Val {
	switch {
	case typeVal == types.TypeType:
		return o.t.celType
	case typeVal.TypeName() == o.t.name:
		return o
	}
	return types.NewErr("type conversion error from '%s' to '%s'", o.t.name, typeVal.TypeName())
}

// Equal compares field by field with CEL equality.
func (o *structVal) Equal(other ref.Val) ref.Val {
	ov, ok := other.(*structVal)
	if !ok || ov.t != o.t {
		return types.False
	}
	for _, name := range o.t.names {
		f := o.t.byName[name]
		if f.isSet != nil {
			set := f.isSet(o.v)
			if set != f.isSet(ov.v) {
				return types.False
			}
			if !set {
				continue
			}
		}
		a, b := o.adapter.NativeToValue(f.get(o.v)), o.adapter.NativeToValue(f.get(ov.v))
		if a.Equal(b) != types.True {
			return types.False
		}
	}
	return types.True
}

func (o *structVal) Type() ref.Type { return o.t.celType }
func (o *structVal) Value() any     { return o.v }

// Get implements traits.Indexer.
func (o *structVal) Get(index ref.Val) ref.Val {
	name, ok := index.(types.String)
	if !ok {
		return types.MaybeNoSuchOverloadErr(index)
	}
	ft, ok := o.t.fields[string(name)]
	if !ok {
		return types.NewErr("no such field '%s'", name)
	}
	v, err := ft.GetFrom(o.v)
	if err != nil {
		return types.WrapErr(err)
	}
	return o.adapter.NativeToValue(v)
}

// IsSet implements traits.FieldTester.
func (o *structVal) IsSet(field ref.Val) ref.Val {
	name, ok := field.(types.String)
	if !ok {
		return types.MaybeNoSuchOverloadErr(field)
	}
	ft, ok := o.t.fields[string(name)]
	if !ok {
		return types.NewErr("no such field '%s'", name)
	}
	return types.Bool(ft.IsSet(o.v))
}

// isNonZero is the default presence test: has(x.f) is true when f is not the
// zero value, the proto3 rule for scalar fields.
func isNonZero(v any) bool {
	switch v := v.(type) {
	case map[string]string:
		return len(v) > 0
	case *types.Err:
		return false
	case traits.Zeroer:
		return !v.IsZeroValue()
	}
	return true
}

// Scalars are handed out as CEL values (types.String etc.), so the adapter
// has nothing left to convert; maps are handed out as the Go map itself, which
// the interpreter indexes directly (request.headers["x"] is a plain map
// lookup) and wraps only when the map is used as a value.
func str(f func(any) string) func(any) any {
	return func(o any) any { return types.String(f(o)) }
}

func strMap(f func(any) map[string]string) func(any) any {
	return func(o any) any { return f(o) }
}

var (
	requestType = newStructType[Request](requestTypeName,
		structField{name: "model", typ: types.StringType, get: str(func(o any) string { return o.(*Request).Model })},
		structField{name: "provider", typ: types.StringType, get: str(func(o any) string { return o.(*Request).Provider })},
		structField{name: "surface", typ: types.StringType, get: str(func(o any) string { return o.(*Request).Surface })},
		structField{name: "stream", typ: types.BoolType, get: func(o any) any { return types.Bool(o.(*Request).Stream) }},
		structField{name: "max_tokens", typ: types.IntType, get: func(o any) any { return types.Int(o.(*Request).MaxTokens) }},
		structField{name: "temperature", typ: types.DoubleType,
			get: func(o any) any {
				r := o.(*Request)
				if !r.HasTemperature {
					return types.NewErr("request.temperature is not set; test has(request.temperature) or use request.?temperature.orValue(x)")
				}
				return types.Double(r.Temperature)
			},
			isSet: func(o any) bool { return o.(*Request).HasTemperature },
		},
		structField{name: "message_count", typ: types.IntType, get: func(o any) any { return types.Int(o.(*Request).MessageCount) }},
		structField{name: "estimated_input_tokens", typ: types.IntType, get: func(o any) any { return types.Int(o.(*Request).EstimatedInputTokens) }},
		structField{name: "estimated_cost_usd", typ: types.DoubleType, get: func(o any) any { return types.Double(o.(*Request).EstimatedCostUSD) }},
		structField{name: "headers", typ: types.NewMapType(types.StringType, types.StringType), get: strMap(func(o any) map[string]string { return o.(*Request).Headers })},
		structField{name: "client_ip", typ: types.StringType, get: str(func(o any) string { return o.(*Request).ClientIP })},
	)
	subjectType = newStructType[Subject](subjectTypeName,
		structField{name: "id", typ: types.StringType, get: str(func(o any) string { return o.(*Subject).ID })},
		structField{name: "name", typ: types.StringType, get: str(func(o any) string { return o.(*Subject).Name })},
		structField{name: "labels", typ: types.NewMapType(types.StringType, types.StringType), get: strMap(func(o any) map[string]string { return o.(*Subject).Labels })},
	)
	usageType = newStructType[Usage](usageTypeName,
		structField{name: "spent_today_usd", typ: types.DoubleType, get: func(o any) any { return types.Double(o.(*Usage).SpentTodayUSD) }},
		structField{name: "spent_month_usd", typ: types.DoubleType, get: func(o any) any { return types.Double(o.(*Usage).SpentMonthUSD) }},
		structField{name: "requests_this_minute", typ: types.IntType, get: func(o any) any { return types.Int(o.(*Usage).RequestsThisMinute) }},
	)
)

// Interface guards
var (
	_ types.StructTypeDescriptor = (*structType)(nil)
	_ ref.Type                   = (*structType)(nil)
	_ ref.Val                    = (*structVal)(nil)
	_ traits.Indexer             = (*structVal)(nil)
	_ traits.FieldTester         = (*structVal)(nil)
)
