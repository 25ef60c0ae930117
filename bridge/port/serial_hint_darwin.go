package port

const permissionHint = "check the device's owner and mode with ls -l; use the /dev/cu.* name"
