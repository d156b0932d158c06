"""A small in-test Fatture in Cloud for invoicing tests, faked at the HTTP boundary with `responses`.

It keeps the clients (listed whole, page by page, or searched by code or name) and issued
documents (invoices and credit notes, each type its own numbering series) it was sent, answers
the look-ups invoicing makes (by type), and can be told to fail the next document POST in several
ways (before or after creating it).
"""

import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from tests.factories_invoicing import fic


class FakeFatture:
    """The Fatture endpoints invoicing uses, faked at the HTTP boundary with `responses`."""

    def __init__(self, rsps):
        self.rsps = rsps
        self.clients: list[dict] = []
        self.documents: list[dict] = []
        self.fail_next_create: list = []  # exceptions or (status, body, headers) to answer instead
        rsps.add_callback(responses.GET, fic("entities/clients"), callback=self.list_clients)
        rsps.add_callback(responses.POST, fic("entities/clients"), callback=self.create_client)
        rsps.add_callback(
            responses.PUT, re.compile(re.escape(fic("entities/clients/")) + r"\d+"), callback=self.update_client
        )
        rsps.add_callback(responses.POST, fic("issued_documents"), callback=self.create_document)
        rsps.add_callback(responses.GET, fic("issued_documents"), callback=self.list_documents)

    def _json(self, body, status=200):
        return status, {"Content-Type": "application/json"}, json.dumps(body)

    def list_clients(self, request):
        params = parse_qs(urlsplit(request.url).query)
        if "q" not in params:
            return self._json(self.client_page(params))
        q = params["q"][0]
        # Only the two shapes we send: code = '…' or name = '…'
        code = q.split(" or name = ")[0].removeprefix("code = ")[1:-1].replace("''", "'")
        name = q.split(" or name = ")[1][1:-1].replace("''", "'")
        found = [c for c in self.clients if c["code"] == code or c["name"] == name]
        return self._json({"current_page": 1, "last_page": 1, "data": found})

    def client_page(self, params):
        """The whole list, in id order, one page of ``per_page`` (spec default 5), only ``fields``."""
        per_page, page = int(params.get("per_page", ["5"])[0]), int(params.get("page", ["1"])[0])
        fields = params.get("fields", [""])[0].split(",")
        ordered = sorted(self.clients, key=lambda c: c["id"])
        rows = ordered[(page - 1) * per_page : page * per_page]
        data = [{k: v for k, v in c.items() if k in fields or fields == [""]} for c in rows]
        return {"current_page": page, "last_page": max(1, -(-len(ordered) // per_page)), "data": data}

    def create_client(self, request):
        data = json.loads(request.body)["data"]
        client = {**data, "id": 500 + len(self.clients)}
        self.clients.append(client)
        return self._json({"data": client})

    def update_client(self, request):
        cid = int(request.url.rsplit("/", 1)[1])
        for client in self.clients:
            if client["id"] == cid:
                client.update(json.loads(request.body)["data"])
                return self._json({"data": client})
        return self._json({"error": {"message": "Not found"}}, 404)

    def of_type(self, doc_type):
        return [d for d in self.documents if d.get("type", "invoice") == doc_type]

    def create_document(self, request):
        body = json.loads(request.body)
        doc_type = body["data"].get("type", "invoice")
        # Each document type is its own numbering series (credit notes have theirs,
        # docs/providers/fatture-in-cloud.md §16).
        number = len(self.of_type(doc_type)) + 1
        numeration = "/NC" if doc_type == "credit_note" else "/A"
        doc = {**body["data"], "id": 9000 + len(self.documents), "number": number, "numeration": numeration}
        if self.fail_next_create:
            failure = self.fail_next_create.pop(0)
            if isinstance(failure, tuple) and failure[0] == "after-create":
                self.documents.append(doc)  # created, but the answer never arrives
                raise failure[1]
            if isinstance(failure, Exception):
                raise failure
            status, payload, headers = failure
            return status, {"Content-Type": "application/json", **headers}, json.dumps(payload)
        self.documents.append(doc)
        return self._json({"data": doc})

    def list_documents(self, request):
        params = parse_qs(urlsplit(request.url).query)
        q, doc_type = params["q"][0], params.get("type", ["invoice"])[0]
        entity = int(q.split("entity.id = ")[1].split(" ")[0])
        on = q.split("date = '")[1][:10]
        found = [d for d in self.of_type(doc_type) if d["entity"]["id"] == entity and d["date"] == on]
        return self._json({"current_page": 1, "last_page": 1, "data": found})

    def calls(self, method=None):
        return [c for c in self.rsps.calls if method is None or c.request.method == method]


@pytest.fixture
def fake():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield FakeFatture(rsps)
