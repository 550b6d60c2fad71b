"""Operating-system errors said in Chinese: what happened and what to do, for every message that names a
file or folder the office or a park gave us."""

from __future__ import annotations

import errno

# errno name -> (what happened, what to do)
OS_ERRORS_ZH = {
    "ENOSPC": ("磁盘空间已满", "请清理磁盘或换一个输出目录后重试"),
    "EDQUOT": ("磁盘配额已用完", "请清理磁盘或换一个输出目录后重试"),
    "EACCES": ("没有权限", "请检查该文件或文件夹的权限，或换一个位置；文件若在 Excel 或 WPS 中打开，请先关闭"),
    "EPERM": ("没有权限", "请检查该文件或文件夹的权限，或换一个位置"),
    "EROFS": ("磁盘只读", "请换一个可以写入的位置"),
    "ENOENT": ("找不到该文件或文件夹", "请检查路径是否写对"),
    "EISDIR": ("这是一个文件夹，这里需要文件", "请给出文件的路径"),
    "ENOTDIR": ("路径中有一部分不是文件夹", "请检查路径是否写对"),
    "EEXIST": ("已经存在", "请换一个名称"),
    "ENAMETOOLONG": ("文件名或路径太长", "请把文件夹移到层次较浅的位置，或缩短文件名"),
    "EMFILE": ("同时打开的文件太多", "请关闭其他程序后重试"),
    "EBUSY": ("正被其他程序使用", "请关闭正在使用它的程序后重试"),
    "EIO": ("读写出错（磁盘或网络盘可能有问题）", "请把文件复制到本机磁盘后重试"),
    "ETIMEDOUT": ("连接超时", "请检查网络后重试"),
    "ECONNREFUSED": ("对方拒绝连接", "请检查服务器地址和端口"),
}


def why_zh(exc: OSError) -> str:
    """What happened, in Chinese (the system's own words when we have no translation)."""
    name = errno.errorcode.get(exc.errno or 0, "")
    if name in OS_ERRORS_ZH:
        return OS_ERRORS_ZH[name][0]
    if isinstance(exc, PermissionError):  # Windows sharing violations carry no errno we know
        return OS_ERRORS_ZH["EACCES"][0]
    return exc.strerror or str(exc) or type(exc).__name__


def os_error_zh(exc: OSError, *, shown=str) -> str:
    """An OS error as one Chinese sentence naming the file or folder and what to do. `shown` makes a
    path printable (the command line passes its own)."""
    name = errno.errorcode.get(exc.errno or 0, "")
    todo = OS_ERRORS_ZH.get(name, OS_ERRORS_ZH["EACCES"] if isinstance(exc, PermissionError) else ("", ""))[1]
    where = shown(exc.filename) if exc.filename is not None else ""
    text = f"{where}：{why_zh(exc)}" if where else why_zh(exc)
    return f"{text}。{todo}。" if todo else f"{text}。"
