"""The minimal server-rendered login and consent pages (no JavaScript, escaped everywhere)."""
from __future__ import annotations

from html import escape

from app.core.permissions import Perm

SCOPE_TEXT = {
    Perm.CUSTOMERS_READ.value: "Read customer archives (contact details masked)",
    Perm.CUSTOMERS_WRITE.value: "Create and update customers, interactions and promises",
    Perm.CUSTOMERS_PII.value: "See customers' full phone numbers, e-mails and IM ids",
    Perm.TICKETS_READ.value: "Read complaint tickets",
    Perm.TICKETS_WRITE.value: "Create and work complaint tickets",
    Perm.SURVEYS_WRITE.value: "Submit survey results",
    Perm.SCORES_READ.value: "Read dealer scores and benchmarks",
    Perm.INCENTIVES_READ.value: "Read the incentive ledger",
    Perm.INCENTIVES_WRITE.value: "Change incentive rules and entries",
    Perm.ADMIN.value: "Administer the brand: dealers, users, partner apps",
}

_STYLE = """body{font-family:system-ui,sans-serif;background:#f5f6f8;margin:0}main{max-width:380px;margin:8vh auto;
background:#fff;padding:28px 32px;border-radius:10px;box-shadow:0 2px 12px #0001}h1{font-size:1.25rem;margin:0 0 4px}
p.sub{color:#666;margin:0 0 20px}label{display:block;margin:12px 0 4px;font-size:.9rem}input[type=email],
input[type=password]{width:100%;padding:9px;box-sizing:border-box;border:1px solid #ccc;border-radius:6px}
button{margin-top:18px;padding:10px 16px;border:0;border-radius:6px;background:#c8102e;color:#fff;font-size:1rem;
cursor:pointer}button.secondary{background:#888;margin-left:8px}.err{background:#fde8ea;color:#a00;padding:8px 10px;
border-radius:6px}ul{padding-left:18px}"""


def _page(title: str, body: str) -> str:
    return (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
            f"content=\"width=device-width,initial-scale=1\"><title>{escape(title)}</title><style>{_STYLE}</style>"
            f"</head><body><main>{body}</main></body></html>")


def _hidden(fields: dict) -> str:
    return "".join(f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in fields.items() if v is not None)


def login_page(*, brand: str, app: str, oauth_params: dict, csrf: str, error: str | None = None, email: str = "") -> str:
    err = f'<p class="err" role="alert">{escape(error)}</p>' if error else ""
    return _page(f"Sign in — {brand}", f"""
<h1>Sign in to {escape(brand)}</h1><p class="sub">{escape(app)} is asking to act for you.</p>{err}
<form method="post" action="/oauth/authorize">{_hidden(oauth_params)}{_hidden({"csrf_token": csrf, "action": "login"})}
<label for="email">E-mail</label><input id="email" name="email" type="email" autocomplete="username" required value="{escape(email)}">
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button></form>""")


def consent_page(*, brand: str, app: str, user: str, scopes: list[str], oauth_params: dict, csrf: str, ticket: str) -> str:
    items = "".join(f"<li><b>{escape(s)}</b> — {escape(SCOPE_TEXT.get(s, s))}</li>" for s in scopes)
    return _page(f"Allow {app}?", f"""
<h1>Allow {escape(app)}?</h1><p class="sub">Signed in as {escape(user)} at {escape(brand)}.</p>
<p>{escape(app)} will be able to:</p><ul>{items}</ul>
<form method="post" action="/oauth/authorize">{_hidden(oauth_params)}{_hidden({"csrf_token": csrf, "action": "consent", "ticket": ticket})}
<button type="submit" name="decision" value="allow">Allow</button><button class="secondary" type="submit" name="decision" value="deny">Deny</button>
</form>""")


def error_page(message: str) -> str:
    return _page("Authorization error", f'<h1>Cannot continue</h1><p class="err">{escape(message)}</p>')


def dev_callback_page(*, params: dict, token_url: str, redirect_uri: str) -> str:
    """Development only: where the demo apps' authorization codes land (nothing else listens)."""
    if params.get("error"):
        body = (f'<h1>Authorization refused</h1><p class="err">{escape(params["error"])}: '
                f'{escape(params.get("error_description") or "")}</p>')
    else:
        body = (f'<h1>Authorization code received</h1><p class="sub">Exchange it within a minute, with the PKCE verifier '
                f'you made the challenge from.</p><p>code: <code id="code">{escape(params.get("code") or "")}</code></p>')
    body += f'<p>state: <code id="state">{escape(params.get("state") or "")}</code></p>'
    if params.get("code"):
        body += (f"<pre>curl -s {escape(token_url)} -d grant_type=authorization_code \\\n  -d client_id=&lt;client_id&gt; "
                 f"-d redirect_uri={escape(redirect_uri)} -d code_verifier=&lt;verifier&gt; \\\n  "
                 f"-d code={escape(params['code'])}</pre><p class=\"sub\">client_id: the app you signed in to "
                 f"(the banner of <code>make run</code> lists them); the verifier: the string you made the S256 "
                 f"challenge from.</p>")
    return _page("Development callback", body)
