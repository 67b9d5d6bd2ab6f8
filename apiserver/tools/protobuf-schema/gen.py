#!/usr/bin/env python3
"""Generate apimachinery/src/go_types/schema.rs: the protobuf schema of the built-in
Kubernetes API types, as a static table for the request decoder.

Sources (see README.md beside this script):
  * Go type metadata (struct fields, json and protobuf tags, pointer-ness) read from a Go
    binary that links k8s.io/api (kubectl of the target minor version), by gotypes.py;
  * the same for k8s.io/apiextensions-apiserver from another Go binary (any version), plus
    EXTRA_FIELDS below for fields newer than that binary;
  * the k8s-pb crate's prost sources, used to cross-check every tag and wire type.
"""
import argparse, json, os, re, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gotypes

META = 'k8s.io/apimachinery/pkg/apis/meta/v1'
AEXT = 'k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1'

# Go package -> apiVersion served for it.
PACKAGES = {
    'k8s.io/api/core/v1': 'v1',
    'k8s.io/api/apps/v1': 'apps/v1',
    'k8s.io/api/batch/v1': 'batch/v1',
    'k8s.io/api/networking/v1': 'networking.k8s.io/v1',
    'k8s.io/api/discovery/v1': 'discovery.k8s.io/v1',
    'k8s.io/api/coordination/v1': 'coordination.k8s.io/v1',
    'k8s.io/api/rbac/v1': 'rbac.authorization.k8s.io/v1',
    'k8s.io/api/events/v1': 'events.k8s.io/v1',
    'k8s.io/api/scheduling/v1': 'scheduling.k8s.io/v1',
    'k8s.io/api/storage/v1': 'storage.k8s.io/v1',
    'k8s.io/api/policy/v1': 'policy/v1',
    'k8s.io/api/authorization/v1': 'authorization.k8s.io/v1',
    'k8s.io/api/authentication/v1': 'authentication.k8s.io/v1',
    'k8s.io/api/autoscaling/v1': 'autoscaling/v1',
    'k8s.io/api/autoscaling/v2': 'autoscaling/v2',
    'k8s.io/api/admissionregistration/v1': 'admissionregistration.k8s.io/v1',
    'k8s.io/api/certificates/v1': 'certificates.k8s.io/v1',
    'k8s.io/api/node/v1': 'node.k8s.io/v1',
    'k8s.io/api/flowcontrol/v1': 'flowcontrol.apiserver.k8s.io/v1',
    AEXT: 'apiextensions.k8s.io/v1',
    META: 'meta.k8s.io/v1',
}

# Messages whose JSON form is not their field-by-field form: name -> (special, fields).
# Fields: (tag, name, type, card).
SPECIALS = {
    META + '.Time': ('Time', [(1, 'seconds', 'I64', 'One'), (2, 'nanos', 'I32', 'One')]),
    META + '.MicroTime': ('MicroTime', [(1, 'seconds', 'I64', 'One'), (2, 'nanos', 'I32', 'One')]),
    META + '.Duration': ('Duration', [(1, 'duration', 'I64', 'One')]),
    META + '.FieldsV1': ('RawJson', [(1, 'raw', 'Bytes', 'One')]),
    META + '.Verbs': ('StringList', [(1, 'items', 'Str', 'List')]),
    'k8s.io/apimachinery/pkg/api/resource.Quantity': ('Quantity', [(1, 'string', 'Str', 'One')]),
    'k8s.io/apimachinery/pkg/util/intstr.IntOrString': ('IntOrString', [(1, 'type', 'I64', 'One'), (2, 'intVal', 'I32', 'One'), (3, 'strVal', 'Str', 'One')]),
    'k8s.io/apimachinery/pkg/runtime.RawExtension': ('RawExtension', [(1, 'raw', 'Bytes', 'One')]),
    AEXT + '.JSON': ('RawJson', [(1, 'raw', 'Bytes', 'One')]),
    AEXT + '.JSONSchemaPropsOrArray': ('SchemaOrArray', [(1, 'schema', AEXT + '.JSONSchemaProps', 'One'), (2, 'jSONSchemas', AEXT + '.JSONSchemaProps', 'List')]),
    AEXT + '.JSONSchemaPropsOrBool': ('SchemaOrBool', [(1, 'allows', 'Bool', 'One'), (2, 'schema', AEXT + '.JSONSchemaProps', 'One')]),
    AEXT + '.JSONSchemaPropsOrStringArray': ('SchemaOrStringArray', [(1, 'schema', AEXT + '.JSONSchemaProps', 'One'), (2, 'property', 'Str', 'List')]),
}
EXTRA_VALUE = re.compile(r'^k8s\.io/api/[a-z]+/v1(beta1)?\.ExtraValue$')

# apiextensions fields of the served release (1.33) newer than the binary the types were
# read from (later ones, such as 1.34's observedGeneration, are left out on purpose):
# message -> [(GoName, json tag, protobuf tag, go type)].
EXTRA_FIELDS = {
    AEXT + '.CustomResourceDefinitionVersion': [
        ('SelectableFields', 'selectableFields,omitempty', 'bytes,9,rep,name=selectableFields', {'k': 'slice', 'elem': {'k': 'named', 'name': AEXT + '.SelectableField', 'under': 'struct'}})],
    AEXT + '.ValidationRule': [
        ('MessageExpression', 'messageExpression,omitempty', 'bytes,3,opt,name=messageExpression', {'k': 'named', 'name': 'string', 'under': 'string'}),
        ('Reason', 'reason,omitempty', 'bytes,4,opt,name=reason', {'k': 'ptr', 'elem': {'k': 'named', 'name': 'string', 'under': 'string'}}),
        ('FieldPath', 'fieldPath,omitempty', 'bytes,5,opt,name=fieldPath', {'k': 'named', 'name': 'string', 'under': 'string'}),
        ('OptionalOldSelf', 'optionalOldSelf,omitempty', 'varint,6,opt,name=optionalOldSelf', {'k': 'ptr', 'elem': {'k': 'named', 'name': 'bool', 'under': 'bool'}})],
    AEXT + '.SelectableField': [
        ('JSONPath', 'jsonPath', 'bytes,1,opt,name=jsonPath', {'k': 'named', 'name': 'string', 'under': 'string'})],
}

def tag_value(tag, key):
    m = re.search(key + r':"([^"]*)"', tag or '')
    return m.group(1) if m else None

class Gen:
    def __init__(self, structs):
        self.structs = structs
        self.order = []      # message names in discovery order
        self.msgs = {}       # name -> (special, [field dicts])

    def scalar(self, t):
        u = t.get('under', t['k'])
        return {'string': 'Str', 'bool': 'Bool', 'int32': 'I32', 'int64': 'I64', 'int': 'I64',
                'float64': 'F64'}.get(u)

    def field_type(self, t, where):
        """Go type -> (ty, card, ptr)."""
        ptr = False
        if t['k'] == 'ptr':
            ptr, t = True, t['elem']
        name = t.get('name', '')
        if t['k'] == 'named' and (name in SPECIALS or EXTRA_VALUE.match(name)):
            return self.msg(name), 'One', ptr
        if t.get('under') == 'slice' or t['k'] == 'slice':
            e = t['elem']
            if e.get('under', e['k']) == 'uint8':
                return 'Bytes', 'One', ptr
            ty, card, eptr = self.field_type(e, where)
            if card != 'One':
                raise SystemExit(f'{where}: nested collection')
            return ty, 'List', ptr
        if t.get('under') == 'map' or t['k'] == 'map':
            if t['key'].get('under', t['key']['k']) != 'string':
                raise SystemExit(f'{where}: map key is not a string')
            ty, card, eptr = self.field_type(t['elem'], where)
            if card != 'One':
                raise SystemExit(f'{where}: map of collections')
            return ty, 'Map', ptr
        s = self.scalar(t)
        if s:
            return s, 'One', ptr
        if t.get('under') == 'struct':
            return self.msg(name), 'One', ptr
        raise SystemExit(f'{where}: unsupported Go type {t}')

    def msg(self, name):
        if name in self.msgs:
            return name
        self.msgs[name] = None
        self.order.append(name)
        if name in SPECIALS:
            special, fl = SPECIALS[name]
            fields = []
            for tag, jn, ty, card in fl:
                if '/' in ty:
                    ty = self.msg(ty)
                fields.append({'tag': tag, 'json': jn, 'ty': ty, 'card': card, 'flags': []})
            self.msgs[name] = (special, fields)
            return name
        if EXTRA_VALUE.match(name):
            self.msgs[name] = ('StringList', [{'tag': 1, 'json': 'items', 'ty': 'Str', 'card': 'List', 'flags': []}])
            return name
        if name not in self.structs and name not in EXTRA_FIELDS:
            raise SystemExit(f'no Go type information for {name}')
        gofields = [dict(f) for f in self.structs.get(name, [])]
        for gname, js, pb, ty in EXTRA_FIELDS.get(name, []):
            if not any(f['name'] == gname for f in gofields):
                gofields.append({'name': gname, 'tag': f'json:"{js}" protobuf:"{pb}"', 'embedded': False, 'type': ty})
        fields = []
        for f in gofields:
            pb = tag_value(f['tag'], 'protobuf')
            if not pb or pb == '-':
                continue
            js = tag_value(f['tag'], 'json')
            parts = (js or '').split(',')
            jname, opts = parts[0], parts[1:]
            if jname == '-':
                continue
            flags = []
            if 'omitempty' in opts:
                flags.append('OMITEMPTY')
            if not jname:
                if f['embedded']:
                    flags.append('INLINE')
                else:
                    jname = f['name']
            ty, card, ptr = self.field_type(f['type'], f'{name}.{f["name"]}')
            if ptr:
                flags.append('PTR')
            if 'INLINE' in flags and (card != 'One' or ty in ('Str', 'Bool', 'I32', 'I64', 'F64', 'Bytes')):
                raise SystemExit(f'{name}.{f["name"]}: inline non-struct')
            pbparts = pb.split(',')
            fields.append({'tag': int(pbparts[1]), 'json': jname, 'ty': ty, 'card': card, 'flags': flags,
                           'wire': pbparts[0], 'go': f['name']})
        self.msgs[name] = (None, fields)
        return name

def pb_key(name):
    pkg, typ = name.rsplit('.', 1)
    if pkg.startswith('k8s.io/api/'):
        mod = 'api::' + pkg[len('k8s.io/api/'):].replace('/', '::')
    elif pkg.startswith('k8s.io/apimachinery/'):
        mod = 'apimachinery::' + pkg[len('k8s.io/apimachinery/'):].replace('/', '::')
    elif pkg.startswith('k8s.io/apiextensions-apiserver/'):
        mod = 'apiextensions_apiserver::' + pkg[len('k8s.io/apiextensions-apiserver/'):].replace('/', '::')
    else:
        return None
    return (mod + '::' + typ).lower()

PB_KIND = {'Str': 'string', 'Bytes': 'bytes', 'Bool': 'bool', 'I32': 'int32', 'I64': 'int64', 'F64': 'double'}
PB_CARD = {'One': 'opt', 'List': 'rep', 'Map': 'map'}

def cross_check(g, pb):
    pbl = {k.lower(): v for k, v in pb.items()}
    problems = 0
    for name in g.order:
        special, fields = g.msgs[name]
        key = pb_key(name)
        pm = pbl.get(key)
        if pm is None:
            print(f'note: {name} not in k8s-pb', file=sys.stderr)
            continue
        bytag = {f['tag']: f for f in pm}
        for f in fields:
            p = bytag.pop(f['tag'], None)
            if p is None:
                print(f'MISMATCH {name}.{f["json"]}: tag {f["tag"]} not in k8s-pb', file=sys.stderr); problems += 1; continue
            want = PB_KIND.get(f['ty'], 'message')
            if p['kind'] != want or p['card'] != PB_CARD[f['card']]:
                print(f'MISMATCH {name}.{f["json"]} tag {f["tag"]}: ours {want}/{f["card"]}, k8s-pb {p["kind"]}/{p["card"]}', file=sys.stderr); problems += 1
            elif want == 'message' and p.get('msg') and p['msg'].lower() != f['ty'].rsplit('.', 1)[1].lower():
                print(f'MISMATCH {name}.{f["json"]}: message {f["ty"]} vs k8s-pb {p["msg"]}', file=sys.stderr); problems += 1
        for t, p in bytag.items():
            print(f'note: {name}: k8s-pb field {p["ident"]} ({t}) not in the Go types (newer than them?)', file=sys.stderr)
    return problems

def rust_str(s):
    return '"' + s.replace('\\', '\\\\').replace('"', '\\"') + '"'

def emit(g, kinds, out, sources):
    order = sorted(g.order)
    index = {n: i for i, n in enumerate(order)}
    def ty(t):
        if t in PB_KIND:
            return 'Ty::' + t
        return f'Ty::Msg({index[t]})'
    lines = []
    lines.append('// @generated by apiserver/tools/protobuf-schema/gen.py; do not edit by hand.')
    lines.append('// Sources: ' + '; '.join(sources))
    lines.append('//')
    lines.append('// Protobuf field numbers, JSON names and Go field shapes of the built-in API types.')
    lines.append('')
    lines.append('use super::{Card, Field, Message, Special, Ty, INLINE, OMITEMPTY, PTR};')
    lines.append('')
    lines.append('/// Every message type, sorted by Go name, fields in Go declaration order; `Ty::Msg(i)` indexes this table.')
    lines.append('pub static MESSAGES: &[Message] = &[')
    for n in order:
        special, fields = g.msgs[n]
        sp = 'Special::' + special if special else 'Special::None'
        lines.append(f'    Message {{ name: {rust_str(n)}, special: {sp}, fields: &[')
        for f in fields:
            flags = ' | '.join(f['flags']) or '0'
            lines.append(f'        Field {{ tag: {f["tag"]}, json: {rust_str(f["json"])}, ty: {ty(f["ty"])}, card: Card::{f["card"]}, flags: {flags} }},')
        lines.append('    ] },')
    lines.append('];')
    lines.append('')
    lines.append('/// `(apiVersion, kind, message index)`, sorted by apiVersion then kind.')
    lines.append('pub static KINDS: &[(&str, &str, u16)] = &[')
    for av, k, n in sorted(kinds):
        lines.append(f'    ({rust_str(av)}, {rust_str(k)}, {index[n]}),')
    lines.append('];')
    lines.append('')
    lines.append('/// Index of `meta/v1` kinds that every group version accepts (DeleteOptions, ...), by kind.')
    lines.append('pub static META_KINDS: &[(&str, u16)] = &[')
    for av, k, n in sorted(kinds):
        if av == 'meta.k8s.io/v1':
            lines.append(f'    ({rust_str(k)}, {index[n]}),')
    lines.append('];')
    open(out, 'w').write('\n'.join(lines) + '\n')
    return len(order), sum(len(g.msgs[n][1]) for n in order)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--kube-binary', required=True, help='Go binary linking k8s.io/api of the target version (kubectl)')
    ap.add_argument('--apiextensions-binary', required=True, help='Go binary linking k8s.io/apiextensions-apiserver')
    ap.add_argument('--k8s-pb-src', help='k8s-pb crate src/ directory, for the cross-check')
    ap.add_argument('--out', required=True)
    a = ap.parse_args()
    structs = gotypes.main(a.kube_binary, ['k8s.io/api/', 'k8s.io/apimachinery/'])
    aext = gotypes.main(a.apiextensions_binary, [AEXT + '.'])
    structs.update(aext)
    g = Gen(structs)
    kinds = []
    for name in sorted(structs):
        pkg, typ = name.rsplit('.', 1)
        if pkg not in PACKAGES or structs[name] is None:
            continue
        if any(f['embedded'] and f['type'].get('name') == META + '.TypeMeta' for f in structs[name]):
            kinds.append((PACKAGES[pkg], typ, g.msg(name)))
    kinds.append(('meta.k8s.io/v1', 'WatchEvent', g.msg(META + '.WatchEvent')))
    problems = 0
    if a.k8s_pb_src:
        import pbmsgs
        problems = cross_check(g, pbmsgs.parse(a.k8s_pb_src))
    n, nf = emit(g, kinds, a.out, [os.path.basename(a.kube_binary) + ' ' + gotypes.go_version(a.kube_binary),
                                   os.path.basename(a.apiextensions_binary) + ' (apiextensions) plus EXTRA_FIELDS'])
    print(f'{n} messages, {nf} fields, {len(kinds)} kinds, {problems} cross-check problems', file=sys.stderr)
    sys.exit(1 if problems else 0)

if __name__ == '__main__':
    main()
