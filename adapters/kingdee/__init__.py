"""Kingdee K/3 Cloud (金蝶云星空) WebAPI: signing and the simulator so far (issue 9, in progress)."""
