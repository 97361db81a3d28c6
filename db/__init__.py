"""PostgreSQL: tables, connections and queries. Knows the domain, not the API."""
