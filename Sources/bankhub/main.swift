print("bankhub")
