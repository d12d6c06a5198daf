"""What every portal backend shares: login through the identity server, a server-side
session store, transparent refresh, CSRF protection, logout and security headers.

The browser holds only an opaque, HttpOnly, SameSite=Strict session cookie; tokens stay
here (the browser-based-apps BCP's "backend for frontend")."""
