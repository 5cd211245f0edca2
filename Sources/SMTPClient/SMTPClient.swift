// The SMTP client lands here.
