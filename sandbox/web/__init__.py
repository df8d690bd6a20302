"""Templates and static files shared by the SSO portal, the VKYC page and the dashboard."""
