"""`booklet serve`: the nurse's web page (see `booklet.web.app`)."""
