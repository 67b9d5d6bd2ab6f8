#!/bin/bash
# Records the body kubectl 1.33 (protobuf) and kubectl 1.27 (JSON) POST for each generator
# command into apiserver/tests/fixtures/protobuf/NAME.pb and NAME.json.
# Usage: capture.sh [KUBECTL_DIR]   (default /usr/lib/google-cloud-sdk/bin, holding
# kubectl.1.33 and kubectl.1.27). Needs python3.
set -u
K=${1:-/usr/lib/google-cloud-sdk/bin}
HERE=$(cd "$(dirname "$0")" && pwd)
FIX=$(cd "$HERE/../../../tests/fixtures/protobuf" && pwd)
WORK=$(mktemp -d)
PORT=18765
python3 "$HERE/fake_server.py" $PORT "$WORK/out" >"$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER; rm -rf "$WORK"' EXIT
mkdir -p "$WORK/out"; sleep 1
printf 'bin\000\001\002\377' >"$WORK/bin.dat"

capture() {
  local name=$1; shift
  for v in 1.33 1.27; do
    rm -f "$WORK"/out/*
    "$K/kubectl.$v" --server "http://127.0.0.1:$PORT" --cache-dir "$(mktemp -d -p "$WORK")" "$@" >"$WORK/kubectl.log" 2>&1
    local f; f=$(ls "$WORK"/out/*.body 2>/dev/null | tail -1)
    if [ -z "$f" ]; then echo "$name: kubectl $v sent no POST"; cat "$WORK/kubectl.log"; continue; fi
    if [ $v = 1.33 ]; then cp "$f" "$FIX/$name.pb"; else cp "$f" "$FIX/$name.json"; fi
  done
  echo "$name"
}

capture configmap create configmap cm1 --from-literal=a=b --from-literal=c=d --from-file="$WORK/bin.dat"
capture secret_generic create secret generic s1 --from-literal=user=admin --from-literal=pass=s3cr3t
capture secret_docker_registry create secret docker-registry d1 --docker-server=reg.example --docker-username=u --docker-password=p
capture deployment create deployment web --image=nginx:1.25 --replicas=3 --port=80
capture deployment_zero_replicas create deployment idle --image=nginx --replicas=0
capture deployment_multi create deployment multi --image=nginx --image=busybox
capture namespace create namespace ns1
capture service_clusterip create service clusterip svc1 --tcp=80:8080 --tcp=443:8443
capture service_nodeport create service nodeport np1 --tcp=80:http --node-port=30080
capture service_externalname create service externalname ext1 --external-name=example.com
capture job create job j1 --image=busybox -- echo hi
capture cronjob create cronjob cj1 --image=busybox --schedule='*/5 * * * *' -- date
capture role create role r1 --verb=get,list --resource=pods,deployments.apps --resource-name=a
capture rolebinding create rolebinding rb1 --role=r1 --user=alice --group=devs --serviceaccount=default:sa1
capture clusterrole create clusterrole cr1 --verb=get --non-resource-url='/logs/*'
capture clusterrolebinding create clusterrolebinding crb1 --clusterrole=cr1 --user=bob
capture serviceaccount create serviceaccount sa1
capture quota create quota q1 --hard=cpu=1,memory=1G,pods=2 --scopes=BestEffort
capture priorityclass create priorityclass pc1 --value=1000 --description=high --preemption-policy=Never
capture pdb create poddisruptionbudget pdb1 --selector=app=web --min-available=50%
capture pdb_max_unavailable create poddisruptionbudget pdb2 --selector=app=web --max-unavailable=1
capture ingress create ingress ing1 --class=nginx --rule='foo.com/bar*=svc1:8080,tls=my-cert'
capture token create token sa1 --duration=10m --audience=api
capture ssar auth can-i create pods
capture ssar_subresource auth can-i get pods/log -n kube-system
capture whoami auth whoami
