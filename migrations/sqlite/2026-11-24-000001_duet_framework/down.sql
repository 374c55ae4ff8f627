DROP TABLE webhook_deliveries;
DROP TABLE api_tokens;
DROP TABLE users;
