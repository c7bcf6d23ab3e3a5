"""The store on PostgreSQL (psycopg 3 with psycopg_pool): see store.py."""
