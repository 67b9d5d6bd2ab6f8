"""Minimal fake kube-apiserver for recording kubectl request bodies.

Serves legacy discovery for the resources that kubectl's generator commands create and
answers every POST with 201, writing its body to OUT_DIR/NNN.body (and NNN.meta with the
path and Content-Type). Usage: fake_server.py PORT OUT_DIR. Listens on 127.0.0.1 only.
"""
import json, os, sys, threading, re
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler

OUT = sys.argv[2]
RES = {
  'v1': [('configmaps','ConfigMap',True),('secrets','Secret',True),('namespaces','Namespace',False),('services','Service',True),
         ('serviceaccounts','ServiceAccount',True),('serviceaccounts/token','TokenRequest',True),('resourcequotas','ResourceQuota',True),('pods','Pod',True)],
  'apps/v1': [('deployments','Deployment',True)],
  'batch/v1': [('jobs','Job',True),('cronjobs','CronJob',True)],
  'rbac.authorization.k8s.io/v1': [('roles','Role',True),('rolebindings','RoleBinding',True),('clusterroles','ClusterRole',False),('clusterrolebindings','ClusterRoleBinding',False)],
  'authorization.k8s.io/v1': [('selfsubjectaccessreviews','SelfSubjectAccessReview',False)],
  'authentication.k8s.io/v1': [('selfsubjectreviews','SelfSubjectReview',False)],
  'scheduling.k8s.io/v1': [('priorityclasses','PriorityClass',False)],
  'policy/v1': [('poddisruptionbudgets','PodDisruptionBudget',True)],
  'networking.k8s.io/v1': [('ingresses','Ingress',True)],
}
KIND_BY_PLURAL = {}
for gv, rs in RES.items():
    for p, k, ns in rs:
        KIND_BY_PLURAL[p.split('/')[-1] if '/' not in p else p] = (gv, k)
counter = [0]
lock = threading.Lock()

class H(BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def send(self, code, obj):
        b = json.dumps(obj).encode()
        self.send_response(code); self.send_header('Content-Type', 'application/json'); self.send_header('Content-Length', str(len(b))); self.end_headers(); self.wfile.write(b)
    def do_GET(self):
        p = self.path.split('?')[0]
        if p == '/api':
            return self.send(200, {'kind': 'APIVersions', 'versions': ['v1'], 'serverAddressByClientCIDRs': [{'clientCIDR': '0.0.0.0/0', 'serverAddress': '127.0.0.1'}]})
        if p == '/apis':
            groups = []
            for gv in RES:
                if gv == 'v1': continue
                g, v = gv.split('/')
                groups.append({'name': g, 'versions': [{'groupVersion': gv, 'version': v}], 'preferredVersion': {'groupVersion': gv, 'version': v}})
            return self.send(200, {'kind': 'APIGroupList', 'apiVersion': 'v1', 'groups': groups})
        gv = p[len('/api/'):] if p.startswith('/api/') else p[len('/apis/'):]
        if gv in RES:
            rs = [{'name': n, 'singularName': '' if '/' in n else k.lower(), 'namespaced': ns, 'kind': k, 'verbs': ['create', 'get', 'list', 'delete', 'update', 'patch', 'watch']} for n, k, ns in RES[gv]]
            return self.send(200, {'kind': 'APIResourceList', 'apiVersion': 'v1', 'groupVersion': gv, 'resources': rs})
        if p == '/version':
            return self.send(200, {'major': '1', 'minor': '33', 'gitVersion': 'v1.33.0'})
        return self.send(404, {'kind': 'Status', 'apiVersion': 'v1', 'status': 'Failure', 'code': 404, 'reason': 'NotFound', 'message': 'not found'})
    def do_POST(self):
        n = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(n)
        ct = self.headers.get('Content-Type') or ''
        with lock:
            counter[0] += 1
            base = os.path.join(OUT, '%03d' % counter[0])
        open(base + '.body', 'wb').write(body)
        open(base + '.meta', 'w').write(json.dumps({'path': self.path, 'ct': ct}))
        p = self.path.split('?')[0]
        parts = p.strip('/').split('/')
        if parts[-1] == 'token':
            return self.send(201, {'apiVersion': 'authentication.k8s.io/v1', 'kind': 'TokenRequest', 'metadata': {'name': parts[-2]}, 'spec': {'audiences': ['x']}, 'status': {'token': 'tok', 'expirationTimestamp': '2030-01-01T00:00:00Z'}})
        plural = parts[-1]
        gv, kind = KIND_BY_PLURAL.get(plural, ('v1', 'Unknown'))
        if ct.startswith('application/json'):
            obj = json.loads(body)
        else:
            obj = {'apiVersion': gv, 'kind': kind, 'metadata': {'name': 'x', 'namespace': 'default'}}
        if kind == 'SelfSubjectAccessReview':
            obj['status'] = {'allowed': True}
        if kind == 'SelfSubjectReview':
            obj['status'] = {'userInfo': {'username': 'alice'}}
        obj.setdefault('metadata', {}).setdefault('name', 'x')
        return self.send(201, obj)

ThreadingHTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()
