"""Virstack identity and tenancy: registerUser, login, logout, addTeamMember, listTeamMembers,
createApiKey, revokeApiKey, getOrganizationWorkerName."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from adapters.storage.virstack_voiceai.accounts import EmailTaken, OrganizationRecord, UserRecord
from core.clock import utcnow
from generated.models.virstack_voiceai import (
    AddTeamMemberBody,
    ApiKeyEnvelope,
    ApiKeyResponse,
    ApiKeyRevoked,
    ApiKeyRevokedEnvelope,
    CreateApiKeyBody,
    LoginBody,
    LoginEnvelope,
    LoginResult,
    LogoutEnvelope,
    LogoutResult,
    Organization,
    RegisterUserBody,
    Registration,
    RegistrationEnvelope,
    User,
    UserEnvelope,
    UserListEnvelope,
    WorkerName,
    WorkerNameEnvelope,
)
from handlers.errors import ApiError
from handlers.request import request
from handlers.results import Reply
from handlers.virstack_voiceai.bundle import bundle
from handlers.virstack_voiceai.common import check_email, moment, not_found, ok, require_admin
from handlers.virstack_voiceai.security import decode_login_token, mint_login_token


def user_response(user: UserRecord) -> User:
    """A user as the account operations answer it (``User``; never the password hash)."""
    return User(user_id=user.user_id, organization_id=user.org_id, email=user.email, first_name=user.first_name,
                last_name=user.last_name, role=user.role, created_at=moment(user.created_at))


def organization_response(org: OrganizationRecord) -> Organization:
    """An organization (``Organization``) with its LiveKit agent worker name."""
    return Organization(organization_id=org.org_id, name=org.name, agent_server_name=org.agent_server_name,
                        created_at=moment(org.created_at))


async def register_user(body: RegisterUserBody) -> Reply:
    """``POST /v1/users/register`` (registerUser, open) → 201 ``RegistrationEnvelope``
    (``data: {organization, user}``).

    Creates an organization and its ``admin`` user; the password (6+ characters) is stored as an
    argon2id hash. 400 invalid fields; 409 the email is already in use (case-insensitive).
    """
    email = check_email(body.email)
    try:
        org, user = await bundle().accounts.register(
            organization_name=body.organization_name.strip(), first_name=body.first_name.strip(),
            last_name=body.last_name.strip(), email=email, password=body.password, now=utcnow())
    except EmailTaken:
        raise ApiError(409, "CONFLICT", "Email already in use") from None
    data = Registration(organization=organization_response(org), user=user_response(user))
    return ok(RegistrationEnvelope, data, 201, "Registration successful")


async def login(body: LoginBody) -> Reply:
    """``POST /v1/users/login`` (login, open) → 200 ``LoginEnvelope`` (``data: {token, token_type,
    expires_at, expires_in (seconds), user, organization}``). The token is an HS256 JWT valid
    ``VIRSTACK_JWT_TTL_MINUTES`` (default 1440) to use as ``Authorization: Bearer``. 401 wrong email
    or password (or the user's organization no longer exists). 429 ``TOO_MANY_REQUESTS`` with
    ``Retry-After`` (seconds) once the account has had ``VIRSTACK_LOGIN_FAILURES_PER_ACCOUNT``
    failed logins, or the client IP ``VIRSTACK_LOGIN_FAILURES_PER_IP``, within
    ``VIRSTACK_LOGIN_WINDOW_SECONDS``: checked before the password, so a throttled guess is never
    verified."""
    v = bundle()
    email = check_email(body.email)
    throttle = await _login_throttle(email)
    user = await v.accounts.authenticate(email, body.password)
    if user is None:
        await throttle.failed()
        raise ApiError(401, "UNAUTHORIZED", "Invalid email or password")
    org = await v.accounts.get_organization(user.org_id)
    if org is None:
        raise ApiError(401, "UNAUTHORIZED", "Organization no longer exists")
    token, expires = mint_login_token(user_id=user.user_id, org_id=user.org_id, role=user.role,
                                      secret=v.settings.virstack_jwt_secret,
                                      ttl_minutes=v.settings.virstack_jwt_ttl_minutes)
    data = LoginResult(token=token, token_type="Bearer", expires_at=moment(expires),
                       expires_in=v.settings.virstack_jwt_ttl_minutes * 60, user=user_response(user),
                       organization=organization_response(org))
    return ok(LoginEnvelope, data, 200, "Login successful")


class _LoginThrottle:
    """The failed-login budgets of one login attempt: per account (the normalised email) and per
    client IP (the connection's peer; see ``FORWARDED_ALLOW_IPS``), moving windows of the
    ``limits`` library (shared through Redis when ``REDIS_URL`` is set)."""

    def __init__(self, email: str, ip: str) -> None:
        settings = bundle().settings
        self.window = settings.virstack_login_window_seconds
        self.budgets = [(f"virstack:login:account:{email}", settings.virstack_login_failures_per_account),
                        (f"virstack:login:ip:{ip}", settings.virstack_login_failures_per_ip)]

    async def check(self) -> None:
        """Raise 429 ``TOO_MANY_REQUESTS`` (``Retry-After``) if either budget is spent."""
        limiter = bundle().limiter
        decisions = [await limiter.test_window(key, amount, self.window) for key, amount in self.budgets]
        waits = [decision.retry_after() for decision in decisions if not decision.allowed]
        if waits:
            wait = max(waits)
            raise ApiError(429, "TOO_MANY_REQUESTS", f"Too many failed logins; retry in {wait} seconds",
                           headers={"Retry-After": str(wait)})

    async def failed(self) -> None:
        """Charge one failed login to both budgets."""
        limiter = bundle().limiter
        for key, amount in self.budgets:
            await limiter.hit_window(key, amount, self.window)


async def _login_throttle(email: str) -> _LoginThrottle:
    client = request.scope.get("client")
    throttle = _LoginThrottle(email, str(client[0]) if client else "unknown")
    await throttle.check()
    return throttle


async def logout() -> Reply:
    """``POST /v1/users/logout`` (logout, open) → 200 ``LogoutEnvelope`` (``data: {revoked}``).

    When the request carries ``Authorization: Bearer <login JWT>`` that token's ``jti`` is
    revoked until its expiry: it stops working at once (``revoked: true``). Without a valid login
    token (none, expired, an API key) there is nothing to revoke (``revoked: false``).
    """
    v = bundle()
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    revoked = False
    if scheme.lower() == "bearer" and token.strip():
        claims = decode_login_token(token.strip(), v.settings.virstack_jwt_secret)
        if claims is not None:
            await v.accounts.revoke_token(claims["jti"], datetime.fromtimestamp(claims["exp"], tz=UTC),
                                          utcnow())
            revoked = True
    return ok(LogoutEnvelope, LogoutResult(revoked=revoked), 200, "Logged out successfully")


async def add_team_member(body: AddTeamMemberBody, token_info: dict[str, Any]) -> Reply:
    """``POST /v1/users/member`` (addTeamMember) → 201 ``UserEnvelope``: the new user of the caller's
    organization (``role`` admin|member, default member). 403 unless the caller is an admin;
    409 email already in use."""
    require_admin(token_info)
    email = check_email(body.email)
    role = str(body.role)  # StrEnum, or the plain default string "member"
    try:
        user = await bundle().accounts.add_member(
            org_id=token_info["org_id"], first_name=body.first_name.strip(), last_name=body.last_name.strip(),
            email=email, password=body.password, role=role, now=utcnow())
    except EmailTaken:
        raise ApiError(409, "CONFLICT", "Email already in use") from None
    return ok(UserEnvelope, user_response(user), 201, "Team member added successfully")


async def list_team_members(token_info: dict[str, Any]) -> Reply:
    """``GET /v1/users/members`` (listTeamMembers) → 200 ``UserListEnvelope``: the organization's users."""
    members = await bundle().accounts.list_members(token_info["org_id"])
    return ok(UserListEnvelope, [user_response(u) for u in members], 200, "Members retrieved successfully")


async def create_api_key(body: CreateApiKeyBody, token_info: dict[str, Any]) -> Reply:
    """``POST /v1/auth/api-keys`` (createApiKey) → 201 ``ApiKeyEnvelope`` (``data: {key_id, api_key,
    name, created_at}``).

    ``api_key`` (``vk-`` + 32 hex) is shown only here; the server keeps its SHA-256 only. The key
    acts for the caller's organization with the caller's role."""
    record, raw = await bundle().accounts.create_api_key(org_id=token_info["org_id"], user_id=token_info["sub"],
                                                         role=token_info["role"], name=body.name, now=utcnow())
    data = ApiKeyResponse(key_id=record.key_id, api_key=raw, name=record.name, created_at=moment(record.created_at))
    return ok(ApiKeyEnvelope, data, 201, "API key created")


async def revoke_api_key(key_id: str, token_info: dict[str, Any]) -> Reply:
    """``DELETE /v1/auth/api-keys/{key_id}`` (revokeApiKey) → 200 ``ApiKeyRevokedEnvelope``
    (``data: {key_id, revoked: true}``); the key stops working at once. 404 unknown key or
    another organization's."""
    if not await bundle().accounts.revoke_api_key(token_info["org_id"], key_id):
        raise not_found("API key", key_id)
    return ok(ApiKeyRevokedEnvelope, ApiKeyRevoked(key_id=key_id, revoked=True), 200, "API key revoked")


async def get_organization_worker_name(token_info: dict[str, Any]) -> Reply:
    """``GET /v1/organizations/worker-name`` (getOrganizationWorkerName) → 200 ``WorkerNameEnvelope``
    (``data: {worker_name}``):
    the organization's ``agent_server_name``, the LiveKit agent worker its rooms dispatch to
    (assigned once at registration, unique)."""
    org = await bundle().accounts.get_organization(token_info["org_id"])
    if org is None:
        raise ApiError(401, "UNAUTHORIZED", "Organization no longer exists")
    return ok(WorkerNameEnvelope, WorkerName(worker_name=org.agent_server_name), 200,
              "Agent server name retrieved successfully")
