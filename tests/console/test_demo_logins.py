"""The demo offers one login per role, each holding only its role."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command

from ops.edge.access import ALL_SCOPES, scopes_for_user

pytestmark = pytest.mark.django_db


def test_seed_demo_creates_one_login_per_role_each_with_only_its_scopes() -> None:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    # An older demo's operator held every role: seeding again resets it to its own.
    operator = get_user_model().objects.get(username="operator")
    operator.groups.add(*operator.groups.model.objects.filter(name__in=["admin", "scheduler"]))
    call_command("seed_demo", stdout=out)
    expected = {
        "operator": {"operate"},
        "oncall": {"operate"},
        "scheduler": {"schedule"},
        "admin": set(ALL_SCOPES),
    }
    for username, scopes in expected.items():
        user = authenticate(username=username, password="zenith-demo")
        assert user is not None, username
        assert list(user.groups.values_list("name", flat=True)) == [username]
        assert set(scopes_for_user(user)) == scopes, username
    assert "operator, oncall, scheduler, admin" in out.getvalue()
