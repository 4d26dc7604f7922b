"""The official `sudomock` SDK (PyPI, unmodified) against our server.

Run by mockup/tests/service.rs (`sdk_flows`), which starts `mockup serve`,
creates two API keys and serves a template on 127.0.0.1, then sets:
MOCKUP_BASE, MOCKUP_KEY, MOCKUP_KEY_B, MOCKUP_PSD_URL, MOCKUP_ART_URL.
Prints one `ok: <flow>` line per flow; any failure raises (non-zero exit).
"""
import os
import sys

import sudomock
from sudomock import SudoMock

base = os.environ["MOCKUP_BASE"]
key = os.environ["MOCKUP_KEY"]
key_b = os.environ["MOCKUP_KEY_B"]
psd_url = os.environ["MOCKUP_PSD_URL"]
art_url = os.environ["MOCKUP_ART_URL"]

client = SudoMock(api_key=key, base_url=base)
other = SudoMock(api_key=key_b, base_url=base)


def ok(flow):
    print(f"ok: {flow}", flush=True)


# Upload by URL (sync), then async.
mockup = client.psd.upload(url=psd_url, name="SDK mockup")
assert mockup.uuid and mockup.width == 320, mockup
design = next(so for so in mockup.smart_objects if so.name == "Design")
ok("upload by URL")
accepted = client.psd.upload(url=psd_url, name="SDK async", is_async=True)
job = client.jobs.wait(accepted.job_id, poll_interval=0.2, timeout=120)
assert job.status == "succeeded" and job.mockup_uuid, job
ok("upload async + wait")

# List, get, layers, rename.
page = client.mockups.list(limit=10)
assert any(m.uuid == mockup.uuid for m in page.mockups), page
got = client.mockups.get(mockup.uuid)
assert got.uuid == mockup.uuid
layers = client.mockups.layers(mockup.uuid)
assert layers.layers, layers
renamed = client.mockups.update(mockup.uuid, name="Renamed")
assert renamed.name == "Renamed", renamed
found = client.mockups.list(name="renam", sort="name", order="asc")
assert [m.uuid for m in found.mockups] == [mockup.uuid] and found.total == 1, found
ok("list / get / layers / update")

# Render sync and async.
smart_objects = [{"uuid": design.uuid, "asset": {"url": art_url, "fit": "cover"}}]
render = client.renders.create(
    mockup_uuid=mockup.uuid,
    smart_objects=smart_objects,
    export_options={"image_format": "png", "image_size": 320},
)
assert render.print_files and render.url, render
ok("render sync")
accepted = client.renders.create(mockup_uuid=mockup.uuid, smart_objects=smart_objects, is_async=True)
job = client.jobs.wait(accepted.job_id, poll_interval=0.2, timeout=120)
assert job.status == "succeeded" and job.result_url, job
ok("render async + wait")

# Jobs, page by page with the cursor.
seen = []
cursor = None
while True:
    page = client.jobs.list(limit=1, cursor=cursor)
    seen += [j.job_id if hasattr(j, "job_id") else j.render_uuid for j in page.jobs]
    cursor = page.next_cursor
    if not cursor:
        break
# Two async jobs so far (sync calls are not jobs), one per page.
assert len(seen) == 2 and len(set(seen)) == 2, seen
ok("jobs list page by page")

# Errors map to the SDK's exceptions.
try:
    other.mockups.get(mockup.uuid)
    raise AssertionError("another account read the mockup")
except sudomock.NotFoundError:
    ok("isolation -> NotFoundError")
try:
    SudoMock(api_key="sm_not_a_key", base_url=base).mockups.list()
    raise AssertionError("a wrong key was accepted")
except sudomock.AuthenticationError:
    ok("bad key -> AuthenticationError")
try:
    client.renders.create(
        mockup_uuid=mockup.uuid,
        smart_objects=smart_objects,
        export_options={"image_format": "png", "image_size": 5},
    )
    raise AssertionError("image_size 5 was accepted")
except sudomock.ValidationError:
    ok("bad field -> ValidationError")

# Webhook endpoints, as the SDK manages them (deliveries go to the art
# server, which answers anything; the receiver test checks signatures).
ep = client.webhook_endpoints.create(url=art_url, events=["render.succeeded"], description="sdk")
assert ep.id and ep.secret.startswith("whsec_") and "*" not in ep.secret, ep
assert ep.event_types == ["render.succeeded"] and ep.enabled, ep
listed = client.webhook_endpoints.list()
assert [e.id for e in listed.webhook_endpoints] == [ep.id], listed
assert "****" in client.webhook_endpoints.get(ep.id).secret
updated = client.webhook_endpoints.update(ep.id, events=[], description="all events")
assert updated.event_types == [] and updated.description == "all events", updated
rotated = client.webhook_endpoints.rotate_secret(ep.id)
assert rotated.secret.startswith("whsec_") and rotated.secret != ep.secret, rotated
client.webhook_endpoints.test(ep.id)
import time
deadline = time.time() + 120
while True:
    rows = client.webhook_endpoints.deliveries(ep.id).deliveries
    if rows and rows[0].status == "succeeded":
        break
    assert time.time() < deadline, rows
    time.sleep(0.2)
assert rows[0].event_type == "webhook.test" and rows[0].http_status == 200, rows
client.webhook_endpoints.replay_delivery(ep.id, rows[0].id)
client.webhook_endpoints.replay_failed(ep.id)
feed = client.webhook_endpoints.events(limit=10).deliveries
assert any(r.id == rows[0].id for r in feed), feed
try:
    other.webhook_endpoints.get(ep.id)
    raise AssertionError("another account read the endpoint")
except sudomock.NotFoundError:
    pass
client.webhook_endpoints.delete(ep.id)
assert client.webhook_endpoints.list().webhook_endpoints == []
ok("webhook endpoints")

# Delete.
client.mockups.delete(mockup.uuid)
try:
    client.mockups.get(mockup.uuid)
    raise AssertionError("deleted mockup still there")
except sudomock.NotFoundError:
    ok("delete")
sys.exit(0)
