#!/usr/bin/env python3
"""A Kubernetes API server stand-in for the wg-ice Kubernetes signaling backend tests.

kmock's KubernetesEmulator (https://github.com/nolar/kmock) supplies the HTTP server, URL parsing into
resource/namespace/name/action, in-memory object storage, create/get/delete semantics (409 on duplicate
names, 404 on unknown objects), Status error bodies and API discovery. kmock has no resourceVersions, no
label selectors, no watch history and no expiry, so this subclass adds what a real API server does there:

- monotonic resourceVersions on every object and event, and a list resourceVersion;
- creationTimestamp and uid set by the server;
- labelSelector (equality terms) on list and watch;
- watch from a resourceVersion, replaying the event history after it;
- BOOKMARK events when the client sends allowWatchBookmarks=true; timeoutSeconds;
- an ERROR event with a 410 Expired Status when the requested resourceVersion has been compacted away;
- bearer-token authentication (401) and validation of SignalEnvelope objects against the CRD's schema (422);
- HTTPS with a given certificate, optionally requiring client certificates;
- "v1", not kmock's "/v1", as the core group's groupVersion in discovery, and GET /api/v1/namespaces/NAME
  as a Namespace (kmock parses it as a list of that namespace's objects): kubectl needs both;
- the real Status reasons NotFound and AlreadyExists instead of kmock's prose ones.

and test controls under /_control/: drop all watch streams (optionally refusing new ones until resumed),
compact the history (forcing 410 on resume), rotate the accepted token, and report the stored objects and
how many inbox lists and watches were served.

Prints "listening <port>" on stdout once it accepts connections.
"""
import argparse
import asyncio
import base64
import binascii
import datetime
import re
import os
import signal
import ssl
import sys
import threading
import uuid

import aiohttp.web
import attrs
import kmock
import yaml


def _status(code: int, reason: str, message: str) -> dict:
    return {'apiVersion': 'v1', 'kind': 'Status', 'metadata': {}, 'status': 'Failure',
            'code': code, 'reason': reason, 'message': message}


def _check_schema(value, schema: dict, path: str) -> list[str]:
    """The subset of OpenAPI v3 structural schemas that deploy/kubernetes/crd.yaml uses."""
    kind = schema.get('type')
    if kind == 'object':
        if not isinstance(value, dict):
            return [f'{path}: must be an object']
        errors = [f'{path}.{key}: Required value' for key in schema.get('required', []) if key not in value]
        for key, sub in schema.get('properties', {}).items():
            if key in value:
                errors += _check_schema(value[key], sub, f'{path}.{key}')
        return errors
    if kind == 'string':
        if not isinstance(value, str):
            return [f'{path}: must be a string']
        errors = []
        if 'maxLength' in schema and len(value) > schema['maxLength']:
            errors.append(f'{path}: Too long: may not be longer than {schema["maxLength"]}')
        if 'pattern' in schema and not re.search(schema['pattern'], value):
            errors.append(f'{path}: should match {schema["pattern"]!r}')
        if schema.get('format') == 'byte':
            try:
                base64.b64decode(value, validate=True)
            except binascii.Error:
                errors.append(f'{path}: must be base64')
        if schema.get('format') == 'date-time':
            try:
                datetime.datetime.fromisoformat(value.replace('Z', '+00:00'))
            except ValueError:
                errors.append(f'{path}: must be an RFC 3339 date-time')
        return errors
    return []


def _selector_matches(selector: str | None, labels: dict) -> bool:
    if not selector:
        return True
    for term in selector.split(','):
        key, _, wanted = term.partition('=')
        if labels.get(key.strip()) != wanted.lstrip('=').strip():
            return False
    return True


@attrs.define(kw_only=True)
class Emulator(kmock.KubernetesEmulator):
    token: str | None = None
    crd: dict = attrs.field(factory=dict)
    bookmark_interval: float = 1.0

    _version: int = attrs.field(default=0, init=False)
    _history: list = attrs.field(factory=list, init=False)  # (resourceVersion, resource, event)
    _oldest: int = attrs.field(default=0, init=False)  # watching from an older resourceVersion answers 410
    _changed: asyncio.Condition = attrs.field(factory=asyncio.Condition, init=False)
    _writes: asyncio.Lock = attrs.field(factory=asyncio.Lock, init=False)
    _drops: int = attrs.field(default=0, init=False)
    _held: bool = attrs.field(default=False, init=False)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self.resources.load_bundled()  # discovery of the built-in kinds (kmock's catalogue), for kubectl
        # kmock publishes every change on a per-resource bus; record them with resourceVersions instead.
        self._buses = _Recorders(self)
        names = self.crd['spec']['names']
        version = self.crd['spec']['versions'][0]
        self.resources[f"{self.crd['spec']['group']}/{version['name']}/{names['plural']}"] = kmock.ResourceInfo(
            kind=names['kind'], singular=names['singular'], namespaced=True,
            verbs={'create', 'list', 'watch', 'get', 'delete'})

    @property
    def _plural(self) -> str:
        return self.crd['spec']['names']['plural']

    @property
    def _schema(self) -> dict:
        return self.crd['spec']['versions'][0]['schema']['openAPIV3Schema']

    async def _render_error(self, exc: Exception) -> aiohttp.web.StreamResponse:
        # kmock's reasons are prose ("Object Not Found"); clients (kubectl 1.20) match the real reason words
        if isinstance(exc, kmock.KubernetesNotFoundError):
            exc = kmock.KubernetesError(status=404, reason='NotFound', message=exc.message)
        elif isinstance(exc, kmock.KubernetesError) and exc.status == 409:
            exc = kmock.KubernetesError(status=409, reason='AlreadyExists', message=exc.message)
        return await super()._render_error(exc)

    async def _serve_version(self, request: kmock.Request) -> dict:
        served = await super()._serve_version(request)
        served['groupVersion'] = served['groupVersion'].removeprefix('/')  # kmock says "/v1" for the core group
        return served

    async def _record(self, resource, event: dict) -> None:
        self._version += 1
        obj = dict(event['object'])
        obj['metadata'] = dict(obj.get('metadata', {}), resourceVersion=str(self._version))
        self._history.append((self._version, resource, {'type': event['type'], 'object': obj}))
        async with self._changed:
            self._changed.notify_all()

    async def _handle(self, request: kmock.Request) -> aiohttp.web.StreamResponse:
        if request.url.path.startswith('/_control/'):
            return await self._control(request)
        if self.token is not None and request.headers.get('Authorization') != f'Bearer {self.token}':
            raise kmock.KubernetesError(status=401, reason='Unauthorized', message='Unauthorized')
        if request.method == kmock.method.GET and re.fullmatch(r'/api/v1/namespaces/[^/]+', request.url.path):
            # kmock reads this as "list everything in that namespace"; it is a Namespace, and none are stored
            raise kmock.KubernetesObjectNotFoundError()
        if request.action in (kmock.action.CREATE, kmock.action.DELETE):
            async with self._writes:
                if request.action == kmock.action.CREATE:
                    self._admit(request)
                return await super()._handle(request)
        if request.action == kmock.action.WATCH and self._held:
            raise kmock.KubernetesError(status=503, reason='ServiceUnavailable', message='watches held by test')
        return await super()._handle(request)

    def _admit(self, request: kmock.Request) -> None:
        obj = request.data if isinstance(request.data, dict) else {}
        if request.resource is not None and request.resource.plural == self._plural:
            errors = _check_schema(obj, self._schema, obj.get('kind', 'object'))
            if errors:
                raise kmock.KubernetesError(status=422, reason='Invalid', message='; '.join(errors))
        meta = obj.setdefault('metadata', {})
        if not meta.get('name'):
            raise kmock.KubernetesError(status=422, reason='Invalid', message='metadata.name: Required value')
        now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
        meta.update(namespace=request.namespace, uid=str(uuid.uuid4()), resourceVersion=str(self._version + 1),
                    creationTimestamp=now.isoformat().replace('+00:00', 'Z'))

    def _visible(self, request: kmock.Request, resource, obj: dict) -> bool:
        meta = obj.get('metadata', {})
        return (resource == request.resource
                and (request.namespace is None or meta.get('namespace') == request.namespace)
                and (request.name is None or meta.get('name') == request.name)
                and _selector_matches(request.params.get('labelSelector'), meta.get('labels') or {}))

    async def _serve_list(self, request: kmock.Request) -> dict:
        items = [obj.raw for (resource, _, _), obj in self.objects.items()
                 if not obj.deleted and self._visible(request, resource, obj.raw)]
        items.sort(key=lambda item: int(item['metadata']['resourceVersion']))
        return {'apiVersion': f'{request.resource.group}/{request.resource.version}'.removeprefix('/'), 'kind': 'List',
                'metadata': {'resourceVersion': str(self._version)}, 'items': items}

    async def _serve_watch(self, request: kmock.Request):
        yield b''  # sends the headers now: kmock only starts a streaming response on the first chunk
        drops = self._drops
        bookmarks = request.params.get('allowWatchBookmarks') == 'true'
        loop = asyncio.get_running_loop()
        deadline = loop.time() + float(request.params.get('timeoutSeconds') or 1800)
        since = request.params.get('resourceVersion') or '0'
        # Each yield can suspend while the client reads, and events recorded meanwhile must not be skipped:
        # the cursor only ever moves to a version taken before the events up to it were sent.
        if since == '0':  # "any": the current state as ADDED events, then changes
            cursor = self._version
            current = [obj.raw for (resource, _, _), obj in self.objects.items()
                       if not obj.deleted and self._visible(request, resource, obj.raw)]
            for raw in current:
                yield {'type': 'ADDED', 'object': raw}
        else:
            cursor = int(since)
            if cursor < self._oldest:
                yield {'type': 'ERROR', 'object': _status(
                    410, 'Expired', f'too old resource version: {cursor} ({self._oldest})')}
                return
        while drops == self._drops and loop.time() < deadline:
            upto = self._version
            pending = [event for version, resource, event in self._history
                       if cursor < version <= upto and self._visible(request, resource, event['object'])]
            for event in pending:
                yield event
            cursor = upto
            if upto != self._version:
                continue
            async with self._changed:
                try:
                    await asyncio.wait_for(self._changed.wait(), self.bookmark_interval)
                    continue
                except TimeoutError:
                    pass
            if bookmarks and cursor == self._version:
                yield {'type': 'BOOKMARK', 'object': {
                    'apiVersion': f'{request.resource.group}/{request.resource.version}',
                    'kind': self.crd['spec']['names']['kind'],
                    'metadata': {'resourceVersion': str(cursor)}}}

    async def _control(self, request: kmock.Request) -> aiohttp.web.StreamResponse:
        action = request.url.path.removeprefix('/_control/')
        if action == 'drop-watches':  # ?hold=true: answer new watches 503 until resume
            self._drops += 1
            self._held = request.params.get('hold') == 'true'
        elif action == 'resume':
            self._held = False
        elif action == 'compact':  # like etcd compaction at the current revision: watching from before it gets 410
            self._history.clear()
            self._oldest = self._version
        elif action == 'token':
            self.token = request.text.strip()
        elif action != 'objects':
            return aiohttp.web.json_response(_status(404, 'NotFound', action), status=404)
        async with self._changed:
            self._changed.notify_all()
        names = sorted(key[2] for key, obj in self.objects.items() if not obj.deleted)
        # Lists with a label selector are a client (re-)listing its inbox; GC sweeps list without one.
        lists = sum(1 for r in self._requests if r.action == kmock.action.LIST and 'labelSelector' in r.params)
        watches = sum(1 for r in self._requests if r.action == kmock.action.WATCH)
        return aiohttp.web.json_response({'resourceVersion': self._version, 'objects': names,
                                          'lists': lists, 'watches': watches})


class _Recorders(dict):
    """Stands in for kmock's per-resource buses: every put becomes a versioned history entry."""

    def __init__(self, emulator: Emulator):
        super().__init__()
        self._emulator = emulator

    def __missing__(self, resource):
        emulator = self._emulator

        class Recorder:
            async def put(self, event: dict) -> None:
                await emulator._record(resource, event)
        return Recorder()


def _exit_with_parent() -> None:
    """The test keeps our stdin open; EOF means it is gone, and so should we be."""
    sys.stdin.buffer.read()
    os._exit(0)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--crd', required=True, help='the CustomResourceDefinition YAML to serve and enforce')
    parser.add_argument('--port', type=int, default=0)
    parser.add_argument('--token', help='require this bearer token (default: no authentication)')
    parser.add_argument('--tls-cert')
    parser.add_argument('--tls-key')
    parser.add_argument('--client-ca', help='require TLS client certificates signed by this CA')
    parser.add_argument('--bookmark-interval', type=float, default=1.0)
    parser.add_argument('--exit-on-stdin-eof', action='store_true')
    args = parser.parse_args()
    # A parent with blocked signals (Swift's Foundation.Process passes its mask on) must still be able to stop us.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    if args.exit_on_stdin_eof:
        threading.Thread(target=_exit_with_parent, daemon=True).start()
    with open(args.crd) as f:
        crd = yaml.safe_load(f)
    context = None
    if args.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        if args.client_ca:
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(args.client_ca)
    emulator = Emulator(token=args.token, crd=crd, bookmark_interval=args.bookmark_interval)
    async with emulator:  # inside its context kmock renders errors as Status responses instead of raising
        server = aiohttp.web.Server(emulator)
        listener = await asyncio.get_running_loop().create_server(server, '127.0.0.1', args.port, ssl=context)
        print('listening', listener.sockets[0].getsockname()[1], flush=True)
        await asyncio.Event().wait()  # until the test kills the process


if __name__ == '__main__':
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
