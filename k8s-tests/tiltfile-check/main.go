// tiltfile-check runs a Tiltfile offline with the Starlark interpreter Tilt itself uses
// (go.starlark.net, with Tilt's dialect options) and stand-ins for Tilt's built-in
// functions. Each stand-in checks its arguments against Tilt's documented signature
// and records the call; the calls are printed as JSON for the k8s-tests to inspect.
// It is the fast offline equivalent of `tilt alpha tiltfile-result`; TILTFILE_CHECK_CONTEXT
// names the kube context k8s_context() answers (default kind-coinstream).
//
// Usage: tiltfile-check path/to/Tiltfile > calls.json
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
	"go.starlark.net/syntax"
)

// sig is a Tilt function's parameters in positional order; the first `required` are mandatory.
type sig struct {
	params   []string
	required int
}

// Tilt's API (docs.tilt.dev/api.html) for the functions a Tiltfile of this project may call.
var signatures = map[string]sig{
	"allow_k8s_contexts": {[]string{"contexts"}, 1},
	"version_settings":   {[]string{"check_updates", "constraint"}, 0},
	"update_settings":    {[]string{"max_parallel_updates", "k8s_upsert_timeout_secs", "suppress_unused_image_warnings", "k8s_server_side_apply"}, 0},
	"docker_build": {[]string{"ref", "context", "build_args", "dockerfile", "dockerfile_contents", "live_update",
		"match_in_env_vars", "ignore", "only", "entrypoint", "target", "ssh", "network", "secret", "extra_tag",
		"container_args", "cache_from", "pull", "platform", "env_vars"}, 2},
	"custom_build": {[]string{"ref", "command", "deps", "tag", "disable_push", "skips_local_docker", "live_update",
		"match_in_env_vars", "ignore", "entrypoint", "command_bat", "outputs_image_ref_to", "container_args", "image_deps", "env", "dir"}, 3},
	"k8s_yaml":            {[]string{"yaml", "allow_duplicates"}, 1},
	"helm":                {[]string{"paths", "name", "namespace", "values", "set", "kube_version", "skip_crds"}, 1},
	"k8s_kind":            {[]string{"kind", "api_version", "image_json_path", "image_object", "pod_readiness"}, 1},
	"k8s_image_json_path": {[]string{"paths", "api_version", "kind", "name", "namespace"}, 1},
	"k8s_resource": {[]string{"workload", "new_name", "port_forwards", "extra_pod_selectors", "trigger_mode",
		"resource_deps", "objects", "auto_init", "pod_readiness", "links", "labels", "discovery_strategy"}, 0},
	"local_resource": {[]string{"name", "cmd", "deps", "trigger_mode", "resource_deps", "ignore", "auto_init",
		"serve_cmd", "cmd_bat", "serve_cmd_bat", "allow_parallel", "links", "tags", "env", "serve_env",
		"readiness_probe", "dir", "serve_dir", "labels"}, 1},
	"blob":             {[]string{"contents"}, 1},
	"port_forward":     {[]string{"local_port", "container_port", "name", "link_path", "host"}, 1},
	"link":             {[]string{"url", "name"}, 1},
	"sync":             {[]string{"local_path", "remote_path"}, 2},
	"run":              {[]string{"cmd", "trigger", "echo_off"}, 1},
	"fall_back_on":     {[]string{"files"}, 1},
	"initial_sync":     {[]string{}, 0},
	"watch_file":       {[]string{"path"}, 1},
	"read_file":        {[]string{"path", "default"}, 1},
	"local":            {[]string{"command", "quiet", "command_bat", "echo_off", "env", "dir", "stdin"}, 1},
	"default_registry": {[]string{"host", "host_from_cluster", "single_name"}, 1},
	"warn":             {[]string{"msg"}, 1},
	"k8s_context":      {[]string{}, 0},
}

type call struct {
	Fn     string         `json:"fn"`
	Args   []any          `json:"args"`
	Kwargs map[string]any `json:"kwargs"`
}

var calls []call
var baseDir string

func toJSON(v starlark.Value) any {
	switch x := v.(type) {
	case starlark.NoneType:
		return nil
	case starlark.Bool:
		return bool(x)
	case starlark.Int:
		i, _ := x.Int64()
		return i
	case starlark.Float:
		return float64(x)
	case starlark.String:
		return string(x)
	case *starlark.List:
		out := []any{}
		for i := 0; i < x.Len(); i++ {
			out = append(out, toJSON(x.Index(i)))
		}
		return out
	case starlark.Tuple:
		out := []any{}
		for _, e := range x {
			out = append(out, toJSON(e))
		}
		return out
	case *starlark.Dict:
		out := map[string]any{}
		for _, item := range x.Items() {
			k, ok := starlark.AsString(item[0])
			if !ok {
				k = item[0].String()
			}
			out[k] = toJSON(item[1])
		}
		return out
	default:
		return v.String()
	}
}

// record checks a call against the signature and returns its arguments by name.
func record(name string, args starlark.Tuple, kwargs []starlark.Tuple) (map[string]starlark.Value, error) {
	s, ok := signatures[name]
	if !ok {
		return nil, fmt.Errorf("%s: not a Tilt function this checker knows", name)
	}
	if len(args) > len(s.params) {
		return nil, fmt.Errorf("%s: got %d positional arguments, takes at most %d", name, len(args), len(s.params))
	}
	bound := map[string]starlark.Value{}
	for i, a := range args {
		bound[s.params[i]] = a
	}
	for _, kv := range kwargs {
		key := string(kv[0].(starlark.String))
		known := false
		for _, p := range s.params {
			if p == key {
				known = true
			}
		}
		if !known {
			return nil, fmt.Errorf("%s: unexpected keyword argument %q", name, key)
		}
		if _, dup := bound[key]; dup {
			return nil, fmt.Errorf("%s: argument %q given twice", name, key)
		}
		bound[key] = kv[1]
	}
	for _, p := range s.params[:s.required] {
		if _, ok := bound[p]; !ok {
			return nil, fmt.Errorf("%s: missing argument %q", name, p)
		}
	}
	c := call{Fn: name, Args: []any{}, Kwargs: map[string]any{}}
	for _, a := range args {
		c.Args = append(c.Args, toJSON(a))
	}
	for _, kv := range kwargs {
		c.Kwargs[string(kv[0].(starlark.String))] = toJSON(kv[1])
	}
	calls = append(calls, c)
	return bound, nil
}

// marker is what a Tilt function returns that other functions take (a live-update step, a link, ...).
func marker(name string, bound map[string]starlark.Value) starlark.Value {
	d := starlark.NewDict(len(bound) + 1)
	_ = d.SetKey(starlark.String("tilt"), starlark.String(name))
	keys := make([]string, 0, len(bound))
	for k := range bound {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		_ = d.SetKey(starlark.String(k), bound[k])
	}
	return d
}

func builtin(name string) *starlark.Builtin {
	return starlark.NewBuiltin(name, func(t *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		bound, err := record(name, args, kwargs)
		if err != nil {
			return nil, err
		}
		switch name {
		case "blob":
			return bound["contents"], nil
		case "helm", "local":
			return starlark.String(fmt.Sprintf("<%s output #%d>", name, len(calls)-1)), nil
		case "read_file":
			path, _ := starlark.AsString(bound["path"])
			data, err := os.ReadFile(filepath.Join(baseDir, path))
			if err != nil {
				if def, ok := bound["default"]; ok {
					return def, nil
				}
				return nil, fmt.Errorf("read_file: %v", err)
			}
			return starlark.String(data), nil
		case "sync", "run", "fall_back_on", "initial_sync", "port_forward", "link":
			return marker(name, bound), nil
		case "k8s_context": // the context the checker plays: TILTFILE_CHECK_CONTEXT, else kind's
			if v, ok := os.LookupEnv("TILTFILE_CHECK_CONTEXT"); ok {
				return starlark.String(v), nil
			}
			return starlark.String("kind-coinstream"), nil
		}
		if name == "watch_file" || name == "docker_build" {
			p, _ := starlark.AsString(bound["path"])
			if name == "docker_build" {
				p, _ = starlark.AsString(bound["context"])
			}
			if _, err := os.Stat(filepath.Join(baseDir, p)); err != nil {
				return nil, fmt.Errorf("%s: %v", name, err)
			}
		}
		return starlark.None, nil
	})
}

func osModule() *starlarkstruct.Module {
	getenv := starlark.NewBuiltin("os.getenv", func(t *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var key string
		var def starlark.Value = starlark.None
		if err := starlark.UnpackArgs("os.getenv", args, kwargs, "key", &key, "default?", &def); err != nil {
			return nil, err
		}
		if v, ok := os.LookupEnv(key); ok {
			return starlark.String(v), nil
		}
		return def, nil
	})
	exists := starlark.NewBuiltin("os.path.exists", func(t *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var p string
		if err := starlark.UnpackArgs("os.path.exists", args, kwargs, "path", &p); err != nil {
			return nil, err
		}
		_, err := os.Stat(filepath.Join(baseDir, p))
		return starlark.Bool(err == nil), nil
	})
	join := starlark.NewBuiltin("os.path.join", func(t *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		parts := []string{}
		for _, a := range args {
			s, ok := starlark.AsString(a)
			if !ok {
				return nil, fmt.Errorf("os.path.join: %s is not a string", a.Type())
			}
			parts = append(parts, s)
		}
		return starlark.String(filepath.Join(parts...)), nil
	})
	path := &starlarkstruct.Module{Name: "path", Members: starlark.StringDict{"exists": exists, "join": join}}
	return &starlarkstruct.Module{Name: "os", Members: starlark.StringDict{"getenv": getenv, "path": path}}
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: tiltfile-check path/to/Tiltfile")
		os.Exit(2)
	}
	path := os.Args[1]
	abs, err := filepath.Abs(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	baseDir = filepath.Dir(abs)
	predeclared := starlark.StringDict{
		"os":                  osModule(),
		"TRIGGER_MODE_AUTO":   starlark.MakeInt(0),
		"TRIGGER_MODE_MANUAL": starlark.MakeInt(1),
	}
	for name := range signatures {
		predeclared[name] = builtin(name)
	}
	thread := &starlark.Thread{
		Name: "tiltfile",
		Load: func(_ *starlark.Thread, module string) (starlark.StringDict, error) {
			return nil, fmt.Errorf("load(%q): extensions are fetched at run time and cannot be checked offline", module)
		},
		Print: func(_ *starlark.Thread, msg string) { fmt.Fprintln(os.Stderr, msg) },
	}
	// Tilt's dialect: sets, while loops, top-level if/for, global reassignment, recursion.
	opts := &syntax.FileOptions{Set: true, While: true, TopLevelControl: true, GlobalReassign: true, Recursion: true}
	globals, err := starlark.ExecFileOptions(opts, thread, path, nil, predeclared)
	if err != nil {
		if evalErr, ok := err.(*starlark.EvalError); ok {
			fmt.Fprintln(os.Stderr, evalErr.Backtrace())
		} else {
			fmt.Fprintln(os.Stderr, err)
		}
		os.Exit(1)
	}
	names := []string{}
	for k := range globals {
		if !strings.HasPrefix(k, "_") {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	out, _ := json.MarshalIndent(map[string]any{"calls": calls, "globals": names}, "", "  ")
	fmt.Println(string(out))
}
