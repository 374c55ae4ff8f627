DROP TABLE user_logins;
