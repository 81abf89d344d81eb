"""Yonyou YonBIP OpenAPI adapter: token signing, the OpenAPI client, its simulator."""
