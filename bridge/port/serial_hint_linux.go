package port

const permissionHint = "add yourself to the dialout group: sudo usermod -aG dialout $USER, then log in again"
