"""Parse the prost-generated sources of the k8s-pb crate into
{"module::path::Message": [{ident, tag, kind, card, msg}]} for cross-checking."""
import glob
import os
import re


def parse(root):
    out = {}
    for path in glob.glob(os.path.join(root, '**', 'mod.rs'), recursive=True):
        mod = os.path.relpath(os.path.dirname(path), root).replace(os.sep, '::')
        cur = attr = pending = None
        for line in open(path):
            if pending is not None:
                pending['ty'] += line.strip()
                if _complete(pending['ty']):
                    pending = None
                continue
            m = re.match(r'pub struct (\w+) \{', line)
            if m:
                cur = mod + '::' + m.group(1)
                out[cur] = []
                continue
            if line.startswith('}'):
                cur = None
                continue
            if cur is None:
                continue
            m = re.match(r'\s*#\[prost\((.*)\)\]', line)
            if m:
                attr = m.group(1)
                continue
            m = re.match(r'\s*pub (r#)?(\w+):(.*)$', line)
            if m and attr:
                field = {'attr': attr, 'ident': m.group(2), 'ty': m.group(3).strip()}
                out[cur].append(field)
                attr = None
                if not _complete(field['ty']):
                    pending = field
    for fields in out.values():
        for f in fields:
            a = f['attr']
            f['tag'] = int(re.search(r'tag = "(\d+)"', a).group(1))
            m = re.match(r'(btree_map|map) = "(\w+), (\w+)"', a)
            if m:
                f['card'], f['kind'] = 'map', m.group(3)
            else:
                f['kind'] = a.split(',')[0].split(' ')[0]
                f['card'] = 'rep' if 'repeated' in a else 'opt'
            if f['kind'] == 'message':
                ids = re.findall(r'(\w+)[>,]*$', f['ty'].replace(' ', ''))
                f['msg'] = ids[0] if ids else None
    return out


def _complete(ty):
    return ty.endswith(',') and ty.count('<') == ty.count('>')
