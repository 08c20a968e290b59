"""Fleet services called directly (as commands, the admin and other apps do): the
spacecraft restriction of a token is the services' rule, not only the API's."""

from __future__ import annotations

import pytest

from ops.edge.access import NeedsUnrestrictedToken
from ops.fleet import services
from ops.fleet.exceptions import NotFound
from ops.fleet.models import ApiToken, ServiceAccount, Spacecraft
from tests.factories import make_spacecraft

pytestmark = pytest.mark.django_db


def test_a_restricted_caller_cannot_add_spacecraft() -> None:
    mine = make_spacecraft("leo-001")
    with pytest.raises(NeedsUnrestrictedToken) as refused:
        services.spacecraft_create(
            allowed_spacecraft_ids=frozenset({mine.pk}), slug="leo-002", name="LEO-002"
        )
    assert (refused.value.status, refused.value.code) == (403, "permission_denied")
    assert list(Spacecraft.objects.values_list("slug", flat=True)) == ["leo-001"]
    # Unrestricted (None, the default) adds it.
    added = services.spacecraft_create(allowed_spacecraft_ids=None, slug="leo-002", name="L2")
    assert added.pk is not None and Spacecraft.objects.count() == 2


def test_a_restricted_caller_cannot_issue_tokens() -> None:
    mine = make_spacecraft("leo-001")
    restricted = frozenset({mine.pk})
    with pytest.raises(NeedsUnrestrictedToken):
        services.token_issue(
            account_name="gateway-9",
            name="ingest",
            scopes=["ingest"],
            spacecraft=[mine],
            allowed_spacecraft_ids=restricted,
        )
    # Refused before anything was written: not even the service account.
    assert not ServiceAccount.objects.filter(name="gateway-9").exists()
    account = services.service_account_get_or_create(name="gateway-9")
    with pytest.raises(NeedsUnrestrictedToken):
        services.token_create(
            account=account, name="ingest", scopes=["ingest"], allowed_spacecraft_ids=restricted
        )
    assert not ApiToken.objects.exists()
    issued = services.token_issue(account_name="gateway-9", name="ingest", scopes=["ingest"])
    assert issued.secret and issued.token.account == account


def test_token_revoke_unknown_id() -> None:
    with pytest.raises(NotFound, match="token 424242 does not exist"):
        services.token_revoke(token_id=424242)
