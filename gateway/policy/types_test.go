package policy

import (
	"reflect"
	"slices"
	"testing"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
)

// TestStructValue covers a whole input struct used as a CEL value (dyn(request),
// [request]), which field selection on the variables never builds.
func TestStructValue(t *testing.T) {
	reg, err := types.NewRegistry(requestType, subjectType, usageType)
	if err != nil {
		t.Fatal(err)
	}
	in := baseInput()
	v := reg.NativeToValue(&in.Request)
	sv, ok := v.(*structVal)
	if !ok {
		t.Fatalf("NativeToValue(*Request) = %T %v", v, v)
	}
	if got := sv.Get(types.String("model")); got != types.String("gpt-4o-mini") {
		t.Errorf("Get(model) = %v", got)
	}
	if got := sv.Get(types.String("headers")); got.(interface{ Size() ref.Val }).Size() != types.Int(2) {
		t.Errorf("Get(headers) = %v", got)
	}
	for _, bad := range []ref.Val{types.String("nope"), types.Int(1), types.String("temperature")} {
		if got := sv.Get(bad); !types.IsError(got) {
			t.Errorf("Get(%v) = %v, want an error", bad, got)
		}
	}
	if sv.IsSet(types.String("model")) != types.True || sv.IsSet(types.String("temperature")) != types.False ||
		!types.IsError(sv.IsSet(types.String("nope"))) || !types.IsError(sv.IsSet(types.Int(1))) {
		t.Error("IsSet")
	}
	if sv.Type().TypeName() != requestTypeName || sv.Value() != &in.Request {
		t.Error("Type, Value")
	}
	if sv.ConvertToType(types.TypeType).(ref.Type).TypeName() != requestTypeName || sv.ConvertToType(sv.Type()) != sv ||
		!types.IsError(sv.ConvertToType(types.StringType)) {
		t.Error("ConvertToType")
	}
	if p, err := sv.ConvertToNative(reflect.TypeFor[*Request]()); err != nil || p != &in.Request {
		t.Errorf("ConvertToNative = %v, %v", p, err)
	}
	if _, err := sv.ConvertToNative(reflect.TypeFor[string]()); err == nil {
		t.Error("ConvertToNative(string) succeeded")
	}

	// Equality is field by field.
	other := baseInput()
	if sv.Equal(reg.NativeToValue(&other.Request)) != types.True {
		t.Error("equal requests differ")
	}
	other.Request.HasTemperature = true
	if sv.Equal(reg.NativeToValue(&other.Request)) != types.False {
		t.Error("requests with and without temperature are equal")
	}
	other = baseInput()
	other.Request.Headers["x-env"] = "test"
	if sv.Equal(reg.NativeToValue(&other.Request)) != types.False || sv.Equal(types.String("x")) != types.False ||
		sv.Equal(reg.NativeToValue(&in.Usage)) != types.False {
		t.Error("different values are equal")
	}

	// A struct value (not a pointer) is copied; a nil pointer is null.
	if got := reg.NativeToValue(in.Usage); got.(*structVal).Get(types.String("requests_this_minute")) != types.Int(12) {
		t.Errorf("NativeToValue(Usage) = %v", got)
	}
	if got := requestType.Adapt(reg, (*Request)(nil)); got != types.NullValue {
		t.Errorf("Adapt(nil) = %v", got)
	}
	if got := requestType.NewValue(reg, nil); !types.IsError(got) {
		t.Errorf("NewValue = %v, want an error", got)
	}
	if names := requestType.FieldNames(); !slices.IsSorted(names) || len(names) != 11 {
		t.Errorf("FieldNames = %v", names)
	}
	// The field accessors refuse a value of another type.
	ft, _ := requestType.FindFieldType("model")
	if _, err := ft.GetFrom(&in.Usage); err == nil || ft.IsSet(&in.Usage) {
		t.Error("GetFrom/IsSet accepted a *Usage for a gateway.Request field")
	}
	if (*activation)(in).Parent() != nil {
		t.Error("activation has a parent")
	}
	if _, found := (*activation)(in).ResolveName("nope"); found {
		t.Error("activation resolved an undeclared name")
	}
}
