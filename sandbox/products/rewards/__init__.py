"""Rewards & incentives: create-and-allocate, bulk allocation, SSO tokens and the SSO pages."""
